"""Activation frequency: neurons that fire in one language far more often than in any other.

A baseline in the spirit of the activation-probability thresholding compared by
Mondal et al. (2025): per language k, the margin ``p_k - max_{j != k} p_j`` of
the activation probability ``p = over_zero / tokens``; the
``round(top_rate * neurons / K)`` neurons with the largest positive margin are
k's. The same ``top_rate`` as LAPE gives sets of comparable total size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.neurons.identification import Identified, MethodParams, register
from langneurons.neurons.margins import top_margins

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats


class FrequencyParams(MethodParams):
    """Parameters of ``frequency``."""

    top_rate: float = Field(
        0.01,
        description="share of all neurons selected, split evenly over the languages (as LAPE's)",
    )


def select(stats: ActivationStats, params: FrequencyParams) -> Identified:
    """Per language, the neurons whose activation probability most exceeds every other's."""
    probs = stats.over_zero.double() / stats.tokens.clamp(min=1).double()[:, None, None]
    return top_margins(stats, probs, params.top_rate), {}


register(
    "frequency",
    FrequencyParams,
    select,
    reference="baseline: activation-probability margin over the other languages",
)
