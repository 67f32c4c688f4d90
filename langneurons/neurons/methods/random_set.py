"""Random neurons in the same per-layer counts as a given set: the control and a baseline.

The control of every ablation task: if a method's neurons matter for a language,
a random set of the same size and layer distribution should not. Registered as
the method ``random`` (matched to the set that method ``like`` finds on the same
statistics) so that it can be scored side by side with the others. Sampling uses
a ``torch.Generator`` seeded from ``seed`` and the language code (CRC-32), so each
language's draw is reproducible and independent of which other languages are
present.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from langneurons.errors import ConfigError
from langneurons.neurons.identification import METHODS, Identified, Method, Selection

if TYPE_CHECKING:
    from langneurons.neurons.neuron_set import NeuronSet
    from langneurons.neurons.statistics import ActivationStats


def draw(counts: Mapping[str, Sequence[int]], width: int, seed: int, stream: str = "") -> Selection:
    """Per language, ``counts[lang][layer]`` distinct random neurons of each layer.

    ``stream`` separates independent draws with the same seed: the control uses
    the default stream, the ``random`` method its own, so a random set and its
    control are never the same neurons.
    """
    import torch

    selection: Selection = {}
    for lang, per_layer in counts.items():
        key = lang if not stream else f"{stream}/{lang}"
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        layers = {}
        for layer, count in enumerate(per_layer):
            neurons = torch.randperm(width, generator=generator)[:count].tolist()
            if neurons:
                layers[layer] = tuple(sorted(neurons))
        selection[lang] = layers
    return selection


def matched_random(reference: NeuronSet, seed: int) -> NeuronSet:
    """Return the control of ``reference``: its per-layer counts, random neurons."""
    from langneurons.neurons.neuron_set import from_lists

    counts = {lang: reference.counts_per_layer(lang) for lang in reference.languages}
    selection = draw(counts, reference.neurons_per_layer, seed)
    return from_lists(
        {
            lang: [list(selection[lang].get(i, ())) for i in range(reference.num_layers)]
            for lang in selection
        },
        model=reference.model,
        site=reference.site,
        method={
            "name": "random",
            "params": {"seed": seed, "matched_to": reference.method, "of": reference.sha256()},
        },
        statistics=reference.statistics,
    )


def select(stats: ActivationStats, seed: int = 0, like: str = "lape") -> Identified:
    """Random neurons matched, per language and layer, to what method ``like`` selects."""
    from langneurons.neurons.identification import method

    if like == "random":
        raise ConfigError(
            "method 'random' cannot be matched to itself; pick like: lape, zhang2025, ..."
        )
    chosen = method(like)
    reference, _ = chosen.select(stats, **chosen.defaults)
    layers, width = stats.over_zero.shape[1], stats.over_zero.shape[2]
    counts = {
        lang: [len(reference[lang].get(i, ())) for i in range(layers)] for lang in stats.languages
    }
    return draw(counts, width, seed, stream="method"), {}


METHODS.add(
    "random",
    Method(
        name="random",
        select=select,
        defaults={"seed": 0, "like": "lape"},
        reference="control: random neurons in the per-layer counts of another method's set",
    ),
)
