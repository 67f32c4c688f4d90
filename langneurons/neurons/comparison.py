"""Compare neuron sets: sizes per language and category, overlap, layers, phases.

Works on sets of one model shape (several methods on one model, or one method on
a base model and its aligned version: Zhang et al. 2025's before/after analysis)
and on sets of different models, where what is comparable is compared: sizes as a
share of the model's neurons, and where the neurons sit by relative depth (layer
+ 1/2 over layers), not by layer; overlap only between sets of one shape. Neurons assigned to exactly one language are *language-specific*, to
several *language-related* (Zhang et al.'s categories, derived here for every
set); every other neuron of the model is *language-agnostic*. The layers are divided
into Zhang et al.'s four phases by :func:`langneurons.neurons.phases.locate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from langneurons.columns import table
from langneurons.errors import ConfigError
from langneurons.neurons.identification import categories, jaccard
from langneurons.neurons.neuron_set import NeuronSet
from langneurons.neurons.phases import PHASES, Phases, locate

CATEGORIES = ("specific", "related")
#: relative-depth bins of equal width: fifths of the model
DEPTH_BINS = 5


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` finds.

    Attributes:
        names: the sets, in the order given.
        languages: languages present in every set.
        counts: set -> language -> neurons.
        category_counts: set -> "specific" / "related" / "agnostic" -> distinct neurons.
        overlap: language -> [i][j] Jaccard index between the sets i and j (None
            where their models' shapes differ: neuron indices name different things).
        per_layer: set -> category -> distinct neurons per layer.
        shapes: set -> (layers, neurons per layer) of its model.
        depth: set -> share of its language neurons (specific + related) in each
            fifth of the model's depth, bottom first.
        phases: set -> the four phases located from its language neurons per layer.
        stability: set -> language -> split-half Jaccard recorded with the set (None:
            the set does not record it).
    """

    names: list[str]
    languages: list[str]
    counts: dict[str, dict[str, int]]
    category_counts: dict[str, dict[str, int]]
    overlap: dict[str, list[list[float | None]]]
    per_layer: dict[str, dict[str, list[int]]]
    phases: dict[str, Phases]
    stability: dict[str, dict[str, float] | None]
    shapes: dict[str, tuple[int, int]]
    depth: dict[str, list[float]]

    @property
    def one_shape(self) -> bool:
        """All sets were made for models of one shape (layer by layer comparable)."""
        return len(set(self.shapes.values())) == 1

    def share(self, name: str, lang: str) -> float:
        """Neurons of ``lang`` in set ``name`` as a share of its model's neurons."""
        layers, width = self.shapes[name]
        return self.counts[name].get(lang, 0) / (layers * width)


def compare(sets: Mapping[str, NeuronSet]) -> Comparison:
    """Compare ``sets`` (name -> set), of one model or of several."""
    names = list(sets)
    shapes = {name: (s.num_layers, s.neurons_per_layer) for name, s in sets.items()}
    languages = [
        lang
        for lang in next(iter(sets.values())).languages
        if all(lang in s.languages for s in sets.values())
    ]
    per_layer: dict[str, dict[str, list[int]]] = {}
    category_counts: dict[str, dict[str, int]] = {}
    for name, chosen in sets.items():
        layers, width = shapes[name]
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
            [
                jaccard(sets[a].languages[lang], sets[b].languages[lang])
                if shapes[a] == shapes[b]
                else None
                for b in names
            ]
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
    depth = {name: _by_depth(layer_totals(per_layer[name])) for name in names}
    return Comparison(
        names,
        languages,
        counts,
        category_counts,
        overlap,
        per_layer,
        phases,
        stability,
        shapes,
        depth,
    )


def _by_depth(per_layer: Sequence[int]) -> list[float]:
    """Shares of ``per_layer``'s total in each of ``DEPTH_BINS`` equal bins of relative depth.

    Layer i sits at relative depth (i + 1/2) / layers, so each layer falls in
    exactly one bin whatever the model's number of layers.
    """
    layers = len(per_layer)
    bins = [0] * DEPTH_BINS
    for i, count in enumerate(per_layer):
        bins[min(DEPTH_BINS - 1, int((i + 0.5) / layers * DEPTH_BINS))] += count
    total = sum(bins)
    return [b / total if total else 0.0 for b in bins]


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
        "as a share of the model's neurons (%)",
        table(
            ["set", "layers x neurons", *langs],
            [
                [
                    n,
                    "{} x {}".format(*result.shapes[n]),
                    *(f"{100 * result.share(n, lang):.2f}" for lang in langs),
                ]
                for n in names
            ],
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
    pairs = [
        (i, j)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if result.shapes[names[i]] == result.shapes[names[j]]
    ]
    if pairs:
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
    fifths = [f"{100 * k // DEPTH_BINS}-{100 * (k + 1) // DEPTH_BINS} %" for k in range(DEPTH_BINS)]
    parts += [
        "",
        "language neurons by relative depth (share in each fifth of the layers, bottom first)",
        table(
            ["set", *fifths, "bottom + top"],
            [
                [
                    n,
                    *(f"{share:.2f}" for share in result.depth[n]),
                    f"{result.depth[n][0] + result.depth[n][-1]:.2f}",
                ]
                for n in names
            ],
        ),
    ]
    if not result.one_shape:
        return "\n".join(parts)
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
