"""Results files, format ``langneurons.results/1``: the only source of the leaderboard.

One file per run: the model with its resolved revision, dtype and device; the
neuron set's sha256, method and size; every task with its spec hash, its cells
(metrics and pass/fail) and its summary scores; the environment; the seeds; the
wall time of each phase; whether every planned cell ran (``complete``); and
``sha256``, the hash of the canonical JSON of all the rest, so that an edit after
the run shows. Written atomically as strict JSON; the reader rejects other versions.

A measured value that is NaN or infinite is written as ``null``: JSON has no such
numbers, and its cell has failed with a message naming the metric (the reader
refuses a passed cell with a null metric, and any non-finite number).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from langneurons.atomic_write import atomic_write_text
from langneurons.canonical import sha256_of
from langneurons.errors import FormatError
from langneurons.input_files import load_json

FORMAT = "langneurons.results/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CellRecord(_Strict):
    """One evaluated cell."""

    id: str = Field(description="cell id within the task, e.g. ablate[zh]-eval[ja]")
    params: dict[str, str] = Field(description="what defines the cell")
    metrics: dict[str, float | None] = Field(description="what it measured; null: not finite")
    passed: bool = Field(description="every check of the cell held")
    failures: list[str] = Field(description="the checks that did not hold")
    curves: dict[str, list[float | None]] = Field(
        default_factory=dict, description="per-layer series, for kinds that measure them"
    )
    info: dict[str, str] = Field(
        default_factory=dict, description="facts that are not numbers, e.g. task hashes"
    )

    @model_validator(mode="after")
    def _no_pass_without_numbers(self) -> CellRecord:
        missing = [name for name, value in self.metrics.items() if value is None]
        if self.passed and missing:
            raise ValueError(f"cell {self.id} passed with non-finite {', '.join(missing)}")
        if self.passed == bool(self.failures):
            raise ValueError(f"cell {self.id}: passed must be true exactly when failures is empty")
        return self


class TaskRecord(_Strict):
    """One task of the run."""

    name: str = Field(description="task name")
    kind: str = Field(description="task kind")
    version: int = Field(description="task version")
    spec_sha256: str = Field(description="sha256 of the validated spec")
    spec: dict[str, Any] = Field(description="the validated spec")
    cells: list[CellRecord] = Field(description="evaluated cells")
    summary: dict[str, float | None] = Field(description="headline scores; null: not finite")


class NeuronSetRecord(_Strict):
    """The neuron set under test."""

    sha256: str = Field(description="sha256 of the set's canonical JSON")
    method: dict[str, Any] = Field(description="method name and parameters")
    source: str = Field(description="the file, or where the identified set was cached")
    neurons: dict[str, int] = Field(description="neurons per language")
    per_layer: dict[str, list[int]] = Field(
        default_factory=dict, description="neurons per language and layer"
    )
    statistics: dict[str, Any] | None = Field(description="what the set was identified on")


class Results(_Strict):
    """A results file."""

    format: str = Field(description=f"always {FORMAT}")
    created: datetime = Field(description="UTC time the file was written")
    model: dict[str, Any] = Field(
        description="name, source, revision, architecture, shape, dtype, device"
    )
    neuron_set: NeuronSetRecord
    tasks: list[TaskRecord]
    environment: dict[str, Any] = Field(description="package, git, torch, transformers, Python")
    seeds: dict[str, int] = Field(description="seed of every random element")
    timings: dict[str, float] = Field(description="seconds per phase, and the total wall time")
    command: str = Field(default="", description="the command line that produced the file")
    complete: bool | None = Field(
        default=None,
        description="every planned cell ran (false: interrupted or deselected); "
        "null in files written before this field",
    )
    sha256: str | None = Field(
        default=None, description="sha256 of the canonical JSON of every other field"
    )


def to_dict(results: Results) -> dict[str, Any]:
    """Return the JSON form."""
    return results.model_dump(mode="json")


def from_dict(data: Any, where: str = "results") -> Results:
    """Validate the JSON form.

    Raises:
        FormatError: another format version, or a schema violation.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise FormatError(f"{where} has format {found!r}; this version reads {FORMAT}")
    try:
        return Results.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        raise FormatError(
            f"{where}: {'.'.join(map(str, problem['loc']))}: {problem['msg']}"
        ) from None


def load(path: Path) -> Results:
    """Read and validate a results file."""
    return from_dict(load_json(path, "results file"), str(path))


def dump(results: Results, path: Path) -> None:
    """Write ``results`` atomically, with the hash of its content."""
    data = to_dict(results)
    data.pop("sha256")
    data["sha256"] = content_sha256(data)
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    atomic_write_text(Path(path), text + "\n")


def finite_or_none(value: float) -> float | None:
    """``value``, or None where it is NaN or infinite (how results files store those)."""
    return value if math.isfinite(value) else None


def content_sha256(data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a results file's fields other than ``sha256``."""
    return sha256_of({k: v for k, v in data.items() if k != "sha256"})


def now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)
