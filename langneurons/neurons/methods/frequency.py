"""Activation frequency: neurons that fire in one language far more often than in any other.

A baseline in the spirit of the activation-probability thresholding compared by
Mondal et al. (2025): per language k, the margin ``p_k - max_{j != k} p_j`` of
the activation probability ``p = over_zero / tokens``; the
``round(top_rate * neurons / K)`` neurons with the largest positive margin are
k's. The same ``top_rate`` as LAPE gives sets of comparable total size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langneurons.neurons.identification import METHODS, Identified, Method, Selection

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.statistics import ActivationStats


def select(stats: ActivationStats, top_rate: float = 0.01) -> Identified:
    """Per language, the neurons whose activation probability most exceeds every other's."""
    probs = stats.over_zero.double() / stats.tokens.clamp(min=1).double()[:, None, None]
    return top_margins(stats, probs, top_rate), {}


def top_margins(stats: ActivationStats, values: torch.Tensor, top_rate: float) -> Selection:
    """Per language, the largest positive ``values[k] - max(values[others])``."""
    import torch

    languages, layers, width = values.shape
    keep = round(top_rate * layers * width / languages)
    selection: Selection = {}
    for k, lang in enumerate(stats.languages):
        others = torch.cat([values[:k], values[k + 1 :]]).amax(dim=0)
        margin = (values[k] - others).flatten()
        score, index = margin.topk(min(keep, margin.numel()))
        index = index[score > 0]
        chosen: dict[int, list[int]] = {}
        for flat in sorted(index.tolist()):
            chosen.setdefault(flat // width, []).append(flat % width)
        selection[lang] = {layer: tuple(neurons) for layer, neurons in chosen.items()}
    return selection


METHODS.add(
    "frequency",
    Method(
        name="frequency",
        select=select,
        defaults={"top_rate": 0.01},
        reference="baseline: activation-probability margin over the other languages",
    ),
)
