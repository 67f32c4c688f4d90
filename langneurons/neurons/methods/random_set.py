"""The method ``random``: random neurons in the per-layer counts of another method's set.

A baseline scored side by side with the methods: matched, per language and
layer, to the set that method ``like`` finds on the same statistics, drawn from
its own stream of :func:`~langneurons.neurons.controls.draw` so that a random set
and its control are never the same neurons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.errors import ConfigError
from langneurons.neurons.controls import draw
from langneurons.neurons.identification import Identified, MethodParams, register

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats


class RandomParams(MethodParams):
    """Parameters of ``random``."""

    seed: int = Field(0, description="seed of the draw (a stream of its own, never the control's)")
    like: str = Field(
        "lape", description="method, with its defaults, whose per-layer counts are matched"
    )


def select(stats: ActivationStats, params: RandomParams) -> Identified:
    """Random neurons matched, per language and layer, to what method ``like`` selects."""
    from langneurons.neurons.identification import neuron_method

    if params.like == "random":
        raise ConfigError(
            "method 'random' cannot be matched to itself; pick like: lape, zhang2025, ..."
        )
    reference, _ = neuron_method(params.like, "method 'random', like").select(stats, {})
    layers, width = stats.over_zero.shape[1], stats.over_zero.shape[2]
    counts = {
        lang: [len(reference[lang].get(i, ())) for i in range(layers)] for lang in stats.languages
    }
    return draw(counts, width, params.seed, stream="method"), {}


register(
    "random",
    RandomParams,
    select,
    reference="control: random neurons in the per-layer counts of another method's set",
)
