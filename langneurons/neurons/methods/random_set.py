"""The method ``random``: random neurons in the per-layer counts of another method's set.

A baseline scored side by side with the methods: matched, per language and
layer, to the set that method ``like`` finds on the same statistics, drawn from
its own stream of :func:`~langneurons.neurons.controls.draw` so that a random set
and its control are never the same neurons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langneurons.errors import ConfigError
from langneurons.neurons.controls import draw
from langneurons.neurons.identification import METHODS, Identified, Method

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats


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
