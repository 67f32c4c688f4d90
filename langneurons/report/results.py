"""Results files, format ``langneurons.results/3``: the only source of the leaderboard.

One file per run: the model with its resolved revision, dtype and device; the
neuron set's sha256, method and size; every task with its spec hash, its cells
(metrics, pass/fail and the per-unit values their intervals resample) and its
summary scores; the environment; the seeds; the
wall time of each phase; whether every planned cell ran (``complete``); and
``sha256``, the hash of the canonical JSON of all the rest, so that an edit after
the run shows. Written atomically as strict JSON. Every field is required; one
that can be unknown is nullable and says what null means.

A measured value that is NaN or infinite is written as ``null``: JSON has no such
numbers, and its cell has failed with a message naming the metric (the reader
refuses a passed cell with a null metric, and any non-finite number).

The reader reads ``langneurons.results/3`` only. :func:`upgrade` converts a
``langneurons.results/1`` or ``/2`` file (``langneurons upgrade FILE``): /1 grew
fields the reader filled in silently, which /2 holds explicitly; /3 adds each
cell's ``units``, which an upgraded file holds empty (not recorded), so its
headline scores have no interval (docs/formats.md lists the fields).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict from Python 3.12 on

from langneurons.atomic_write import atomic_write_text
from langneurons.canonical import sha256_of
from langneurons.errors import FormatError
from langneurons.input_files import load_json
from langneurons.provenance import EnvironmentRecord
from langneurons.records import MethodRecord, StatisticsRecord

FORMAT = "langneurons.results/3"
#: refused by the reader, converted by upgrade()
FORMAT_1 = "langneurons.results/1"
FORMAT_2 = "langneurons.results/2"
OLDER = (FORMAT_1, FORMAT_2)
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = _STRICT


class CellRecord(_Strict):
    """One evaluated cell."""

    id: str = Field(description="cell id within the task, e.g. ablate[zh]-eval[ja]")
    params: dict[str, str] = Field(description="what defines the cell")
    metrics: dict[str, float | None] = Field(
        description="what it measured; null: not finite; name_lo and name_hi: the 95 % "
        "interval of name"
    )
    passed: bool = Field(description="every check of the cell held")
    failures: list[str] = Field(description="the checks that did not hold")
    curves: dict[str, list[float | None]] = Field(
        description="per-layer series, one value per layer ({} for kinds without them); "
        "null: not finite"
    )
    info: dict[str, str] = Field(
        description="facts that are not numbers, e.g. task hashes ({} when there are none)"
    )
    units: dict[str, list[float | None]] = Field(
        description="per-unit values (window, prompt, item or document) that the cell's "
        "intervals resample, one list per name, all of one length ({} for kinds without them, and in files upgraded from "
        "results/2); null: not finite"
    )

    @model_validator(mode="after")
    def _no_pass_without_numbers(self) -> CellRecord:
        missing = [name for name, value in self.metrics.items() if value is None]
        if self.passed and missing:
            raise ValueError(f"cell {self.id} passed with non-finite {', '.join(missing)}")
        if self.passed == bool(self.failures):
            raise ValueError(f"cell {self.id}: passed must be true exactly when failures is empty")
        lengths = {name: len(values) for name, values in self.units.items()}
        if len(set(lengths.values())) > 1:
            found = ", ".join(f"{name} {n}" for name, n in lengths.items())
            raise ValueError(
                f"cell {self.id}: units of unequal lengths ({found}): one value per unit"
            )
        for name, low in self.metrics.items():
            high = self.metrics.get(f"{name.removesuffix('_lo')}_hi")
            if name.endswith("_lo") and low is not None and high is not None and low > high:
                raise ValueError(
                    f"cell {self.id}: interval of {name[:-3]} has low {low} > high {high}"
                )
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
    kind: Literal["neurons", "vectors"] = Field(
        "neurons",
        description="a neuron set, or a vector set (whose neurons count directions); "
        "absent in files from before vector sets: neurons",
    )
    method: MethodRecord = Field(description="method name and parameters")
    source: str = Field(description="the file, or where the identified set was cached")
    neurons: dict[str, int] = Field(description="neurons per language")
    per_layer: dict[str, list[int]] = Field(description="neurons per language and layer")
    statistics: StatisticsRecord | None = Field(
        description="what the set was identified on; null: the set does not say (imported)"
    )


@with_config(_STRICT)
class ModelRecord(TypedDict):
    """The model under test, as the run loaded it."""

    name: Annotated[str, Field(description="the name shown in tables and file names")]
    source: Annotated[str, Field(description="what was given: alias target, hub id or folder")]
    revision: Annotated[
        str | None,
        Field(description="hub commit, gguf-sha256:… or local-sha256:…; null: none resolved"),
    ]
    architecture: Annotated[str, Field(description="Hugging Face architecture name")]
    family: Annotated[str, Field(description="the adapter's model family")]
    num_layers: Annotated[int, Field(description="decoder layers")]
    neurons_per_layer: Annotated[int, Field(description="neurons at the site per layer")]
    dtype: Annotated[str, Field(description="dtype the model ran in")]
    device: Annotated[
        str, Field(description="device the model ran on; under pytest -n, every worker's")
    ]
    dtype_choice: Annotated[
        str | None,
        Field(description="why that dtype; null: not recorded (upgraded from results/1)"),
    ]


class Results(_Strict):
    """A results file."""

    format: Literal["langneurons.results/3"] = Field(description=f"always {FORMAT}")
    created: AwareDatetime = Field(description="UTC time the file was written")
    model: ModelRecord = Field(description="the model under test")
    neuron_set: NeuronSetRecord = Field(description="the neuron set under test")
    tasks: list[TaskRecord] = Field(description="every task of the run, with its cells")
    environment: EnvironmentRecord = Field(description="package, git, libraries, Python")
    seeds: dict[str, int] = Field(description="seed of every random element")
    timings: dict[str, float] = Field(description="seconds per phase, and the total wall time")
    command: str = Field(description="the command line that produced the file")
    complete: bool | None = Field(
        description="every planned cell ran (false: interrupted or deselected); "
        "null: not recorded (upgraded from results/1)"
    )
    sha256: str = Field(
        pattern="^[0-9a-f]{64}$",
        description="sha256 of the canonical JSON of every other field",
    )


def to_dict(results: Results) -> dict[str, Any]:
    """Return the JSON form."""
    return results.model_dump(mode="json")


def from_dict(data: Any, where: str = "results") -> Results:
    """Validate the JSON form (``langneurons.results/3`` only).

    Raises:
        FormatError: an older format (with the command that upgrades it), another
            format, or a schema violation.
    """
    found = data.get("format") if isinstance(data, dict) else None
    if found in OLDER:
        raise FormatError(
            f"{where} is {found}; this version reads {FORMAT}: run `langneurons upgrade {where}`"
        )
    if found != FORMAT:
        raise FormatError(f"{where} has format {found!r}; this version reads {FORMAT}")
    try:
        return Results.model_validate(data)
    except ValidationError as error:
        raise FormatError(f"{where}: {_problem(error)}") from None


def new(fields: dict[str, Any], where: str = "results") -> Results:
    """Validate every field of a results file but ``sha256``, and add the hash of their content.

    How results are made (the pytest plugin, :func:`upgrade`).

    Raises:
        FormatError: as :func:`from_dict`.
    """
    draft = from_dict({**fields, "sha256": "0" * 64}, where)  # content_sha256 leaves it out
    return draft.model_copy(update={"sha256": content_sha256(to_dict(draft))})


def upgrade(data: Any, where: str = "results") -> Results:
    """The ``langneurons.results/3`` form of a results file's parsed JSON.

    A /3 file is validated and returned as it is. An older file must carry the
    hash of its content, and match it; then each field its version lacks is
    filled explicitly: every cell's ``units`` ``{}`` (not recorded: its
    headline scores get no interval; re-run the benchmark for one), the neuron
    set's ``kind`` ``neurons`` (every file before vector sets), and for
    /1 also ``complete`` null (not recorded), a cell's ``info`` ``{}`` (none
    recorded), ``model.dtype_choice``, ``environment.lm_eval`` and
    ``environment.lock`` null (not recorded), and a cell's ``layers`` metric,
    where it lacks one and its curves share one length, that length (the
    curves hold one value per layer). Nothing else is filled: /1 files without
    a hash predate ``command`` and ``per_layer`` too. The result carries the
    hash of its new content.

    Raises:
        FormatError: no version it reads, no hash or another one, or a field
            missing that the version always had.
    """
    found = data.get("format") if isinstance(data, dict) else None
    if found == FORMAT:
        return from_dict(data, where)
    if found not in OLDER:
        raise FormatError(f"{where} has format {found!r}; upgrade reads {', '.join(OLDER)}")
    claimed = data.get("sha256")
    if claimed is None:
        raise FormatError(
            f"{where} has no sha256 (written before results carried the hash of their content),"
            " so its content cannot be checked: run the benchmark again"
        )
    if claimed != content_sha256(data):
        raise FormatError(f"{where}: content does not match its sha256 (edited after the run)")
    try:
        results = new(_filled(data, found), where)
    except FormatError as error:
        raise FormatError(f"{error} (not a {found} file as the benchmark writes it)") from None
    if found == FORMAT_1:
        for task in results.tasks:
            for cell in task.cells:
                lengths = {len(values) for values in cell.curves.values()}
                if "layers" not in cell.metrics and len(lengths) == 1:
                    cell.metrics["layers"] = float(lengths.pop())
    return results.model_copy(update={"sha256": content_sha256(to_dict(results))})


def _filled(data: dict[str, Any], found: str) -> dict[str, Any]:
    """A copy of older ``data`` without its hash, as results/3 but for /1's ``layers``."""
    filled = copy.deepcopy({key: value for key, value in data.items() if key != "sha256"})
    filled["format"] = FORMAT
    cell_defaults: dict[str, Any] = {"units": {}}
    if found == FORMAT_1:
        filled.setdefault("complete", None)
        for record, keys in (("model", ["dtype_choice"]), ("environment", ["lm_eval", "lock"])):
            if isinstance(filled.get(record), dict):
                for key in keys:
                    filled[record].setdefault(key, None)
        cell_defaults["info"] = {}
    for task in _objects(filled.get("tasks")):
        for cell in _objects(task.get("cells")):
            for key, value in cell_defaults.items():
                cell.setdefault(key, copy.deepcopy(value))
    return filled


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects in a JSON list; none for anything else (the schema check names it)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _problem(error: ValidationError) -> str:
    """The first schema violation: key path and message."""
    problem = error.errors()[0]
    return f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"


def load(path: Path) -> Results:
    """Read and validate a results file."""
    return from_dict(load_json(path, "results file"), str(path))


def dump(results: Results, path: Path) -> None:
    """Write ``results`` atomically, with the hash of its content."""
    data = to_dict(results)
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


def cell_record(
    cell_id: str,
    params: Mapping[str, str],
    metrics: Mapping[str, float],
    failures: Sequence[str],
    curves: Mapping[str, Sequence[float]],
    info: Mapping[str, str],
    units: Mapping[str, Sequence[float]],
) -> CellRecord:
    """One evaluated cell as results files hold it: non-finite numbers as null (the cell failed)."""
    return CellRecord(
        id=cell_id,
        params=dict(params),
        metrics={k: finite_or_none(v) for k, v in metrics.items()},
        passed=not failures,
        failures=list(failures),
        curves={k: [finite_or_none(v) for v in values] for k, values in curves.items()},
        info=dict(info),
        units={k: [finite_or_none(v) for v in values] for k, values in units.items()},
    )


def task_record(
    name: str,
    kind: str,
    version: int,
    spec: dict[str, Any],
    cells: Sequence[CellRecord],
    summary: Mapping[str, float],
) -> TaskRecord:
    """One task of a run, with the hash of its validated spec."""
    return TaskRecord(
        name=name,
        kind=kind,
        version=version,
        spec_sha256=sha256_of(spec),
        spec=spec,
        cells=list(cells),
        summary={k: finite_or_none(v) for k, v in summary.items()},
    )


def build(
    created: datetime,
    model: ModelRecord,
    neuron_set: NeuronSetRecord,
    tasks: Sequence[TaskRecord],
    environment: Mapping[str, object],
    seeds: Mapping[str, int],
    timings: Mapping[str, float],
    command: str,
    complete: bool,
) -> Results:
    """A run's results for one neuron set, validated and carrying the hash of its content.

    Raises:
        FormatError: a record that does not validate (a bug of the writer).
    """
    fields = {
        "format": FORMAT,
        "created": created.isoformat(),
        "model": dict(model),
        "neuron_set": neuron_set.model_dump(mode="json"),
        "tasks": [task.model_dump(mode="json") for task in tasks],
        "environment": dict(environment),
        "seeds": dict(seeds),
        "timings": dict(timings),
        "command": command,
        "complete": complete,
    }
    return new(fields)
