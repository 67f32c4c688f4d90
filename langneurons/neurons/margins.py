"""Margin ranking: per language, the neurons whose value most exceeds every other language's.

Shared by the frequency and mean-difference baselines, which differ only in the
value they rank (activation probability or mean activation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langneurons.neurons.identification import Selection

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.statistics import ActivationStats


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
