"""Compare neuron sets: sizes per language and category, overlap, layers, phases.

Works on any sets of one model shape: several methods on one model, or one
method on a base model and its aligned version (Zhang et al. 2025's before/after
analysis). Neurons assigned to exactly one language are *language-specific*, to
several *language-related* (Zhang et al.'s categories, derived here for every
set); every other neuron of the model is *language-agnostic*. The layers are divided
into Zhang et al.'s four phases by :func:`langneurons.neurons.phases.locate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from langneurons.columns import table
from langneurons.errors import ConfigError, ShapeMismatchError
from langneurons.neurons.identification import categories, jaccard
from langneurons.neurons.neuron_set import NeuronSet
from langneurons.neurons.phases import PHASES, Phases, locate

CATEGORIES = ("specific", "related")


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` finds.

    Attributes:
        names: the sets, in the order given.
        languages: languages present in every set.
        counts: set -> language -> neurons.
        category_counts: set -> "specific" / "related" / "agnostic" -> distinct neurons.
        overlap: language -> [i][j] Jaccard index between the sets i and j.
        per_layer: set -> category -> distinct neurons per layer.
        phases: set -> the four phases located from its language neurons per layer.
        stability: set -> language -> split-half Jaccard recorded with the set (None:
            the set does not record it).
    """

    names: list[str]
    languages: list[str]
    counts: dict[str, dict[str, int]]
    category_counts: dict[str, dict[str, int]]
    overlap: dict[str, list[list[float]]]
    per_layer: dict[str, dict[str, list[int]]]
    phases: dict[str, Phases]
    stability: dict[str, dict[str, float] | None]


def compare(sets: Mapping[str, NeuronSet]) -> Comparison:
    """Compare ``sets`` (name -> set).

    Raises:
        ShapeMismatchError: the sets were made for models of different shapes.
    """
    names = list(sets)
    shapes = {(s.num_layers, s.neurons_per_layer) for s in sets.values()}
    if len(shapes) > 1:
        raise ShapeMismatchError(
            "sets of different model shapes: "
            + ", ".join(f"{n} {s.num_layers} x {s.neurons_per_layer}" for n, s in sets.items())
        )
    layers, width = shapes.pop()
    languages = [
        lang
        for lang in next(iter(sets.values())).languages
        if all(lang in s.languages for s in sets.values())
    ]
    per_layer: dict[str, dict[str, list[int]]] = {}
    category_counts: dict[str, dict[str, int]] = {}
    for name, chosen in sets.items():
        split = categories({lang: dict(layers_) for lang, layers_ in chosen.languages.items()})
        per_layer[name] = {}
        for category in CATEGORIES:
            distinct = _distinct(split[category])
            per_layer[name][category] = [
                sum(1 for layer, _ in distinct if layer == i) for i in range(layers)
            ]
        language_neurons = _distinct(chosen.languages)
        category_counts[name] = {c: sum(per_layer[name][c]) for c in CATEGORIES}
        category_counts[name]["agnostic"] = layers * width - len(language_neurons)
    overlap = {
        lang: [
            [jaccard(sets[a].languages[lang], sets[b].languages[lang]) for b in names]
            for a in names
        ]
        for lang in languages
    }
    counts = {name: {lang: s.count(lang) for lang in s.languages} for name, s in sets.items()}
    phases = {name: locate(layer_totals(per_layer[name])) for name in names}
    stability = {
        name: s.statistics.split_half_jaccard if s.statistics is not None else None
        for name, s in sets.items()
    }
    return Comparison(
        names, languages, counts, category_counts, overlap, per_layer, phases, stability
    )


def labels(paths: Sequence[Path]) -> list[str]:
    """Name each set file by the shortest end of its path that no other file shares.

    ``a/x/lape.json`` and ``b/x/lape.json`` become ``a/x/lape`` and ``b/x/lape``;
    a file whose stem is unique keeps its stem. Names key the comparison, so two
    files under one name would show as one row.

    Raises:
        ConfigError: the same file is given twice.
    """
    resolved = [Path(p).resolve() for p in paths]
    for i, path in enumerate(resolved):
        if path in resolved[:i]:
            raise ConfigError(f"{paths[i]} is given twice; compare distinct set files")
    parts = [(*p.parent.parts, p.stem) for p in resolved]
    names = []
    for i, mine in enumerate(parts):
        others = [theirs for j, theirs in enumerate(parts) if j != i]
        k = 1
        while k < len(mine) and any(theirs[-k:] == mine[-k:] for theirs in others):
            k += 1
        if k == len(mine):  # only the suffix differs (lape.json, lape.JSON): the whole path
            names.append(str(resolved[i]))
        else:
            names.append("/".join(mine[-k:]))
    return names


def layer_totals(per_layer: dict[str, list[int]]) -> list[int]:
    """Language-specific plus language-related neurons in each layer."""
    return [s + r for s, r in zip(per_layer["specific"], per_layer["related"], strict=True)]


def render(result: Comparison) -> str:
    """Tables for the terminal: sizes, categories, overlap, layers."""
    names, langs = result.names, result.languages
    parts = [
        "neurons per language",
        table(
            ["set", *langs],
            [[n, *(str(result.counts[n].get(lang, 0)) for lang in langs)] for n in names],
        ),
        "",
        "neurons per category (distinct neurons)",
        table(["set", "specific", "related", "agnostic"], _category_rows(result)),
    ]
    stable = [n for n in names if result.stability[n] is not None]
    if stable:
        parts += [
            "",
            "split-half stability: Jaccard overlap of the sets picked on two halves of the corpus",
            table(
                ["set", *langs],
                [[n, *(_rate(result.stability[n], lang) for lang in langs)] for n in stable],
            ),
        ]
    if len(names) > 1:
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
        parts += [
            "",
            "Jaccard overlap per language",
            table(
                ["pair", *langs],
                [
                    [
                        f"{names[i]} ~ {names[j]}",
                        *(f"{result.overlap[lang][i][j]:.2f}" for lang in langs),
                    ]
                    for i, j in pairs
                ],
            ),
        ]
    parts += [
        "",
        "phases (Zhang et al. 2025; layers)",
        table(
            ["set", *PHASES, "valley shape"],
            [
                [
                    n,
                    *(result.phases[n].label(p) for p in PHASES),
                    "yes" if result.phases[n].matches_paper else "no",
                ]
                for n in names
            ],
        ),
    ]
    layers = len(next(iter(result.per_layer.values()))["specific"])
    parts += [
        "",
        "language neurons per layer (specific + related)",
        table(
            ["layer", *names],
            [
                [
                    str(i),
                    *(str(layer_totals(result.per_layer[n])[i]) for n in names),
                ]
                for i in range(layers)
            ],
        ),
    ]
    return "\n".join(parts)


def _rate(values: Mapping[str, float] | None, lang: str) -> str:
    value = (values or {}).get(lang)
    return "-" if value is None else f"{value:.2f}"


def _category_rows(result: Comparison) -> list[list[str]]:
    """One row per set; with two sets (say base and aligned), a row of their differences."""
    kinds = ("specific", "related", "agnostic")
    counts = result.category_counts
    rows = [[n, *(str(counts[n][c]) for c in kinds)] for n in result.names]
    if len(result.names) == 2:
        a, b = result.names
        rows.append([f"{b} - {a}", *(f"{counts[b][c] - counts[a][c]:+d}" for c in kinds)])
    return rows


def _distinct(languages: Mapping[str, Mapping[int, tuple[int, ...]]]) -> set[tuple[int, int]]:
    return {
        (layer, n) for layers in languages.values() for layer, idx in layers.items() for n in idx
    }
