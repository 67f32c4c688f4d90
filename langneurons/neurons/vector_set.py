"""Vector sets: per language and layer, one direction in the residual stream (``langneurons.vector_set/1``).

The second kind of set under test, beside neuron sets: CLaS-Bench (2026) found a
difference of mean residual states (DiffMean) to steer the output language better
than LAPE's neurons. A vector set names the model it was made for, the residual
site (the output of decoder layer ``{i}``), its hidden size, the method and the
statistics that produced it, and per language a mapping layer -> vector of
``hidden_size`` finite numbers. Tasks project a language's vectors out of the
residual stream (ablation) or add them (steering), through
:mod:`langneurons.models.interventions`, wherever they take a neuron set.

The reader validates everything without a model: format, keys, language codes,
layers within the recorded shape and written canonically, vector lengths,
finite non-zero vectors (a zero vector has no direction to remove).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_write_text
from langneurons.canonical import sha256_of
from langneurons.errors import FormatError
from langneurons.input_files import format_object, load_json
from langneurons.records import MethodRecord, ModelIdentity, StatisticsRecord, parse_record
from langneurons.text.languages import check_languages

#: the largest float32: the hooks compute in float32
FLOAT32_MAX = 3.4028234663852886e38

FORMAT = "langneurons.vector_set/1"

Vectors = Mapping[int, tuple[float, ...]]


@dataclass(frozen=True)
class VectorSet:
    """Language -> layer -> residual-stream vector, with provenance.

    Attributes:
        model: the model it was made for, its shape included.
        site: the decoder-layer path template whose output the vectors live in,
            e.g. ``model.layers.{i}``.
        hidden_size: the residual stream's width, the length of every vector.
        method: the method and its parameters.
        statistics: what it was computed from, or None.
        languages: per language, layer -> vector; layers without one are omitted.
    """

    model: ModelIdentity
    site: str
    hidden_size: int
    method: MethodRecord
    statistics: StatisticsRecord | None
    languages: Mapping[str, Vectors]

    @property
    def num_layers(self) -> int:
        """Layer count of the model the set was made for."""
        return self.model.num_layers

    def count(self, language: str) -> int:
        """Directions of ``language``: one per layer that has a vector."""
        return len(self.languages[language])

    def counts_per_layer(self, language: str) -> list[int]:
        """1 for each layer with a vector of ``language``, else 0."""
        return [int(i in self.languages[language]) for i in range(self.num_layers)]

    def norms(self, language: str) -> dict[int, float]:
        """The Euclidean norm of each of ``language``'s vectors, by layer."""
        return {
            layer: math.sqrt(sum(x * x for x in vector))
            for layer, vector in self.languages[language].items()
        }

    def sha256(self) -> str:
        """Return the sha256 of the set's canonical JSON."""
        return sha256_of(to_dict(self))


def to_dict(vector_set: VectorSet) -> dict[str, Any]:
    """Return the JSON form of ``vector_set``."""
    return {
        "format": FORMAT,
        "model": vector_set.model.model_dump(),
        "site": vector_set.site,
        "hidden_size": vector_set.hidden_size,
        "method": vector_set.method.model_dump(),
        "statistics": None
        if vector_set.statistics is None
        else vector_set.statistics.model_dump(exclude_none=True),
        "languages": {
            lang: {str(i): list(v) for i, v in sorted(layers.items())}
            for lang, layers in vector_set.languages.items()
        },
    }


def from_dict(data: Any, where: str = "vector set") -> VectorSet:
    """Validate and parse the JSON form.

    Raises:
        FormatError: wrong format version, missing or unknown keys, bad layers or vectors.
    """
    required = ("model", "site", "hidden_size", "method", "languages")
    data = format_object(data, FORMAT, ("format", "statistics", *required), required, where)
    model = parse_record(ModelIdentity, data["model"], f"{where}: model")
    method = parse_record(MethodRecord, data["method"], f"{where}: method")
    if not isinstance(data["site"], str):
        raise FormatError(
            f"{where}: site must be a string (the decoder-layer path template, with {{i}})"
        )
    hidden = data["hidden_size"]
    if type(hidden) is not int or hidden < 1:
        raise FormatError(f"{where}: hidden_size must be a positive integer, got {hidden!r}")
    statistics = data.get("statistics")
    if statistics is not None:
        statistics = parse_record(StatisticsRecord, statistics, f"{where}: statistics")
    if not isinstance(data["languages"], dict):
        raise FormatError(f"{where}: languages must be an object language -> layer -> vector")
    check_languages(list(data["languages"]), where)
    languages = {
        lang: _layers_in(layers, model.num_layers, hidden, f"{where}: languages.{lang}")
        for lang, layers in data["languages"].items()
    }
    return VectorSet(model, data["site"], hidden, method, statistics, languages)


def load(path: Path) -> VectorSet:
    """Read a vector set file.

    Raises:
        FormatError: the file is missing, not valid JSON, or not a valid vector set.
    """
    return from_dict(load_json(path, "vector set"), str(path))


def dump(vector_set: VectorSet, path: Path) -> None:
    """Write ``vector_set`` to ``path`` atomically."""
    atomic_write_text(Path(path), json.dumps(to_dict(vector_set)) + "\n")


def _layers_in(
    layers: Any, num_layers: int, hidden: int, where: str
) -> dict[int, tuple[float, ...]]:
    if not isinstance(layers, dict):
        raise FormatError(f"{where}: expected an object layer -> vector")
    parsed: dict[int, tuple[float, ...]] = {}
    for key, vector in layers.items():
        if not (str(key).isascii() and str(key).isdigit()) or not 0 <= int(key) < num_layers:
            raise FormatError(f"{where}: layer '{key}' is out of range 0..{num_layers - 1}")
        if str(int(key)) != key:
            raise FormatError(f"{where}: layer '{key}' must be written '{int(key)}'")
        # |x| below float32's largest: the hooks add in float32, so a larger value would be inf
        numbers = isinstance(vector, list) and all(
            type(x) in (int, float) and abs(x) < FLOAT32_MAX for x in vector
        )
        if not numbers:
            raise FormatError(
                f"{where}.{key}: expected a list of finite numbers below {FLOAT32_MAX:.3g} in size"
            )
        if len(vector) != hidden:
            raise FormatError(f"{where}.{key}: {len(vector)} numbers; the hidden size is {hidden}")
        values = tuple(float(x) for x in vector)
        norm = math.hypot(*values)
        if norm == 0:
            raise FormatError(f"{where}.{key}: a zero vector has no direction")
        if not norm < FLOAT32_MAX:
            raise FormatError(
                f"{where}.{key}: its norm is above {FLOAT32_MAX:.3g}; rescale the set"
            )
        parsed[int(key)] = values
    return parsed
