"""Mean activation difference: neurons whose mean activation in a language most exceeds the others'.

A baseline on activation magnitude instead of frequency: per language k, the
margin ``mean_k - max_{j != k} mean_j`` of the mean activation at the site; the
``round(top_rate * neurons / K)`` neurons with the largest positive margin are
k's. Needs activation sums, so it runs on statistics langneurons collected (not
on imported counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.neurons.identification import Identified, MethodParams, register
from langneurons.neurons.margins import top_margins

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats


class MeandiffParams(MethodParams):
    """Parameters of ``meandiff``."""

    top_rate: float = Field(
        0.01,
        description="share of all neurons selected, split evenly over the languages (as LAPE's)",
    )


def select(stats: ActivationStats, params: MeandiffParams) -> Identified:
    """Per language, the neurons whose mean activation most exceeds every other language's."""
    return top_margins(stats, stats.mean(), params.top_rate), {}


register(
    "meandiff",
    MeandiffParams,
    select,
    reference="baseline: mean-activation margin over the other languages",
)
