"""Neuron sets: which MLP neurons belong to which language, in format ``langneurons.neuron_set/1``.

A neuron set names the model it was made for (its shape included), the method and
the statistics that produced it, and per language a mapping layer -> sorted neuron
indices at the activation site. The reader validates everything it can without a
model (format, language codes, sorted unique non-negative indices, layers within
the recorded shape); :func:`check_compatible` then compares the recorded shape
with a model's before it loads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_write_text
from langneurons.canonical import sha256_of
from langneurons.errors import FormatError, ShapeMismatchError
from langneurons.input_files import format_object, load_json
from langneurons.records import MethodRecord, ModelIdentity, StatisticsRecord, parse_record
from langneurons.text.languages import check_languages

FORMAT = "langneurons.neuron_set/1"

Layers = Mapping[int, tuple[int, ...]]
Languages = Mapping[str, Layers]


@dataclass(frozen=True)
class NeuronSet:
    """Language -> layer -> neuron indices, with provenance.

    Attributes:
        model: the model it was made for, its shape included.
        site: the activation site, e.g. ``model.layers.{i}.mlp.act_fn``.
        method: the method and its parameters.
        statistics: what it was identified on, or None (imported).
        languages: per language, layer -> sorted unique neuron indices; layers
            without neurons are omitted.
        categories: optional per-category sets in the same layout (e.g.
            "specific", "related"), or empty.
    """

    model: ModelIdentity
    site: str
    method: MethodRecord
    statistics: StatisticsRecord | None
    languages: Languages
    categories: Mapping[str, Languages] = field(default_factory=dict)

    @property
    def num_layers(self) -> int:
        """Layer count of the model the set was made for."""
        return self.model.num_layers

    @property
    def neurons_per_layer(self) -> int:
        """Neurons per layer of the model the set was made for."""
        return self.model.neurons_per_layer

    def count(self, language: str) -> int:
        """Return the number of neurons of ``language``."""
        return sum(len(v) for v in self.languages[language].values())

    def counts_per_layer(self, language: str) -> list[int]:
        """Return the number of neurons of ``language`` in each layer."""
        layers = self.languages[language]
        return [len(layers.get(i, ())) for i in range(self.num_layers)]

    def sha256(self) -> str:
        """Return the sha256 of the set's canonical JSON."""
        return sha256_of(to_dict(self))


def to_dict(neuron_set: NeuronSet) -> dict[str, Any]:
    """Return the JSON form of ``neuron_set``."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "model": neuron_set.model.model_dump(),
        "site": neuron_set.site,
        "method": neuron_set.method.model_dump(),
        "statistics": _statistics_out(neuron_set.statistics),
        "languages": {lang: _layers_out(layers) for lang, layers in neuron_set.languages.items()},
    }
    if neuron_set.categories:
        data["categories"] = {
            name: {lang: _layers_out(layers) for lang, layers in langs.items()}
            for name, langs in neuron_set.categories.items()
        }
    return data


def from_dict(data: Any, where: str = "neuron set") -> NeuronSet:
    """Validate and parse the JSON form.

    Raises:
        FormatError: wrong format version, missing keys, or bad indices.
    """
    allowed = ("format", "model", "site", "method", "statistics", "languages", "categories")
    data = format_object(data, FORMAT, allowed, ("model", "site", "method", "languages"), where)
    model = parse_record(ModelIdentity, data["model"], f"{where}: model")
    method = parse_record(MethodRecord, data["method"], f"{where}: method")
    if not isinstance(data["site"], str):
        raise FormatError(
            f"{where}: site must be a string (the path template of the activation module, with {{i}} for the layer)"
        )
    statistics = data.get("statistics")
    if statistics is not None:
        statistics = parse_record(StatisticsRecord, statistics, f"{where}: statistics")
    for key in ("languages", "categories"):
        if not isinstance(data.get(key, {}), dict):
            raise FormatError(f"{where}: {key} must be an object")
    for name, langs in data.get("categories", {}).items():
        if not isinstance(langs, dict):
            raise FormatError(f"{where}: categories.{name} must be an object language -> layers")
    shape = (model.num_layers, model.neurons_per_layer)
    check_languages(list(data["languages"]), where)
    languages = {
        lang: _layers_in(layers, shape, f"{where}: languages.{lang}")
        for lang, layers in data["languages"].items()
    }
    categories = {
        name: {
            lang: _layers_in(layers, shape, f"{where}: categories.{name}.{lang}")
            for lang, layers in langs.items()
        }
        for name, langs in data.get("categories", {}).items()
    }
    return NeuronSet(model, data["site"], method, statistics, languages, categories)


def load(path: Path) -> NeuronSet:
    """Read a neuron set file.

    Raises:
        FormatError: the file is missing, not UTF-8, not valid JSON (a key given
            twice, NaN included) or not a valid neuron set.
    """
    return from_dict(load_json(path, "neuron set"), str(path))


def dump(neuron_set: NeuronSet, path: Path) -> None:
    """Write ``neuron_set`` to ``path`` atomically."""
    atomic_write_text(Path(path), json.dumps(to_dict(neuron_set), indent=1) + "\n")


def check_compatible(neuron_set: NeuronSet, shape: tuple[int, int], where: str, model: str) -> None:
    """Raise unless the set was made for a model of ``shape`` (layers, neurons per layer).

    Raises:
        ShapeMismatchError: layer count or width differ; both shapes are named.
    """
    ours = (neuron_set.num_layers, neuron_set.neurons_per_layer)
    theirs = shape
    if ours != theirs:
        raise ShapeMismatchError(
            f"neuron set {where} is {ours[0]} x {ours[1]} (made for "
            f"{neuron_set.model.name}); model {model} is {theirs[0]} x {theirs[1]}"
        )


def from_lists(
    per_language: Mapping[str, Sequence[Sequence[int]]],
    model: ModelIdentity,
    site: str,
    method: MethodRecord,
    statistics: StatisticsRecord | None = None,
    categories: Mapping[str, Languages] | None = None,
) -> NeuronSet:
    """Build a set from per-language lists indexed by layer (the published layout)."""
    languages = {
        lang: {i: tuple(sorted(int(n) for n in idx)) for i, idx in enumerate(layers) if len(idx)}
        for lang, layers in per_language.items()
    }
    built = NeuronSet(model, site, method, statistics, languages, categories or {})
    return from_dict(to_dict(built), f"{method.name} set")


def _statistics_out(record: StatisticsRecord | None) -> dict[str, Any] | None:
    """The record as written: ``split_half_jaccard`` (and ``split_half_cosine``) only where set.

    Sets written before it existed keep their JSON, and so their sha256.
    """
    if record is None:
        return None
    data = record.model_dump()
    for key in ("split_half_jaccard", "split_half_cosine"):
        if data[key] is None:
            del data[key]
    return data


def _layers_out(layers: Layers) -> dict[str, list[int]]:
    return {str(i): list(idx) for i, idx in sorted(layers.items())}


def _layers_in(layers: Any, shape: tuple[int, int], where: str) -> dict[int, tuple[int, ...]]:
    if not isinstance(layers, dict):
        raise FormatError(f"{where}: expected an object layer -> indices")
    parsed: dict[int, tuple[int, ...]] = {}
    for key, indices in layers.items():
        if not str(key).isdigit() or not 0 <= int(key) < shape[0]:
            raise FormatError(f"{where}: layer '{key}' is out of range 0..{shape[0] - 1}")
        if str(int(key)) != key:  # "01" and "1" would both be layer 1
            raise FormatError(f"{where}: layer '{key}' must be written '{int(key)}'")
        if not isinstance(indices, list) or not all(type(n) is int for n in indices):
            raise FormatError(f"{where}.{key}: expected a list of integers")
        bad = [n for n in indices if not 0 <= n < shape[1]]
        if bad:
            raise FormatError(f"{where}.{key}: neuron {bad[0]} is out of range 0..{shape[1] - 1}")
        if len(set(indices)) != len(indices):
            dup = next(n for n in indices if indices.count(n) > 1)
            raise FormatError(f"{where}.{key}: neuron {dup} is listed twice")
        if indices:
            parsed[int(key)] = tuple(sorted(indices))
    return parsed
