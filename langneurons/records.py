"""Frozen records that several file formats share, validated where a file is read.

A neuron set, a statistics file and a results file all name the model they were
made for, and a set names the method and the statistics that produced it. Each
record is one pydantic model, frozen in memory and strict at the file boundary
(``true`` or ``2.0`` is not taken for a layer count), so every format reads and
writes it the same way.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langneurons.errors import FormatError

_FROZEN = ConfigDict(extra="forbid", strict=True, frozen=True)
R = TypeVar("R", bound=BaseModel)


class ModelIdentity(BaseModel):
    """The model a neuron set or statistics file was made for: its name, origin and shape."""

    model_config = _FROZEN

    name: str = Field(description="the model's name (alias, hub id or folder name)")
    source: str | None = Field(default=None, description="hub id, package or folder")
    revision: str | None = Field(default=None, description="resolved revision")
    architecture: str | None = Field(default=None, description="HF architectures[0]")
    num_layers: int = Field(gt=0, description="layers of the model")
    neurons_per_layer: int = Field(gt=0, description="neurons at the site per layer")


class MethodRecord(BaseModel):
    """The method that made a neuron set, with the parameters it ran with."""

    model_config = _FROZEN

    name: str = Field(description="registered method, or 'imported'")
    params: dict[str, Any] = Field(default_factory=dict, description="its parameters")


class StatisticsRecord(BaseModel):
    """What a neuron set was identified on: the corpus, its sha256 and the tokens per language."""

    model_config = _FROZEN

    corpus: str | None = Field(description="source and split, e.g. udhr:identify")
    sha256: str | None = Field(description="sha256 of the corpus text")
    tokens: dict[str, int] = Field(description="text tokens per language")
    split_half_jaccard: dict[str, float] | None = Field(
        default=None,
        description="per language, the Jaccard overlap of the sets the method picks on two "
        "disjoint halves of the corpus; null: the statistics had no halves",
    )
    split_half_cosine: dict[str, float] | None = Field(
        default=None,
        description="vector sets: per language, the mean cosine over layers of the vectors the "
        "method builds on two disjoint halves of the corpus; null: not a vector set, or no halves",
    )


def parse_record(record: type[R], value: Any, where: str) -> R:
    """Validate ``value`` as ``record``; the first problem becomes a one-line FormatError."""
    if not isinstance(value, dict):
        raise FormatError(f"{where} must be an object, got {type(value).__name__} {value!r}")
    try:
        return record.model_validate(value)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            allowed = ", ".join(record.model_fields)
            raise FormatError(f"{where}: unknown key '{key}' (allowed: {allowed})") from None
        if problem["type"] == "missing":
            raise FormatError(f"{where}: missing key '{key}'") from None
        raise FormatError(f"{where}.{key}: {problem['msg']} (got {problem['input']!r})") from None
