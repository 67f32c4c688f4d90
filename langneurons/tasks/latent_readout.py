"""Logit-lens measurements over a cell's items, and their per-layer summaries.

Per item and layer (Wendler et al. 2024, ``Translation_Final.ipynb``): the
probability of the target answer's token set and of the English answer's set
(sums of the softmax over each set), the entropy of the lens distribution in bits
(``compute_entropy``), whether the top-1 token is in the target set (logit-lens
accuracy) and whether the English answer is more probable than the target answer
(latent-English rate). Curves are means over items with the reference's 95 %
Gaussian band, mean +- 1.96 std / sqrt(n) (``plot_ci`` in ``utils.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langneurons.models.logit_lens import readout, state_batches
from langneurons.tasks.latent_prompts import Item

if TYPE_CHECKING:
    import torch

    from langneurons.models.handle import ModelHandle

#: the per-item measurements, in the order of ``Lens.values``' first axis
MEASURES = ("p_target", "p_latent", "entropy", "top1_target", "latent_first")


@dataclass(frozen=True)
class Lens:
    """Lens measurements of some items at some layers.

    Attributes:
        values: [measure, item, layer], measures as in ``MEASURES``; layers as decoded.
        states: residual stream at the last position, [item, layer, hidden].
    """

    values: torch.Tensor
    states: torch.Tensor

    def mean(self, measure: str) -> list[float]:
        """Mean over items, per layer."""
        return [float(v) for v in self.values[MEASURES.index(measure)].mean(0)]

    def band(self, measure: str) -> list[float]:
        """Half-width of the 95 % Gaussian band of the mean, per layer."""
        data = self.values[MEASURES.index(measure)]
        n = data.shape[0]
        if n < 2:
            return [0.0] * data.shape[1]
        return [float(v) for v in 1.96 * data.std(0) / math.sqrt(n)]


def measure(
    handle: ModelHandle,
    items: Sequence[Item],
    layers: Sequence[int],
    batch_size: int,
    progress: bool = False,
    label: str = "lens",
) -> Lens:
    """Run the items in batches and decode the given layers at the last position."""
    import torch
    from tqdm.auto import tqdm

    values, states = [], []
    bar = tqdm(total=len(items), desc=label, unit="prompt", disable=not progress, leave=False)
    prompts = [item.prompt for item in items]
    for start, hidden in zip(
        range(0, len(items), batch_size),
        state_batches(handle, prompts, layers, batch_size),
        strict=True,
    ):
        batch = items[start : start + batch_size]
        values.append(_measures(handle, batch, hidden))
        states.append(hidden.float().cpu())
        bar.update(len(batch))
    bar.close()
    return Lens(torch.cat(values, dim=1), torch.cat(states))


def _measures(handle: ModelHandle, batch: Sequence[Item], hidden: torch.Tensor) -> torch.Tensor:
    """[measure, item, layer] for one batch; all layers are decoded together.

    The unembedding matrix is read from memory once per product, so decoding many
    rows at once is what makes the lens cheap (gemma-3-270m on CPU: 9.5 ms a row in
    products of 16 rows, 3.4 ms in products of 288); :func:`readout` reduces each
    slice of the vocabulary as it is decoded, never holding a row's logits.
    """
    import torch

    items, layers, width = hidden.shape
    target, target_mask = _padded([item.target for item in batch])
    latent, latent_mask = _padded([item.latent for item in batch])
    flat = hidden.transpose(0, 1).reshape(layers * items, width)  # layer-major rows
    item = torch.arange(layers * items) % items
    found = readout(
        handle.model,
        handle.architecture,
        flat,
        torch.cat([target, latent], dim=1)[item],
        top_and_entropy=True,
    )
    assert found.top is not None and found.entropy is not None
    probs = (found.chosen.double() - found.logsumexp.unsqueeze(1)).exp().cpu()
    split = target.shape[1]
    p_target = (probs[:, :split] * target_mask[item]).sum(-1)
    p_latent = (probs[:, split:] * latent_mask[item]).sum(-1)
    top = found.top.cpu().unsqueeze(1)
    hit = ((target[item] == top) & (target_mask[item] > 0)).any(-1)
    rows = torch.stack(
        [p_target, p_latent, found.entropy.cpu() / math.log(2), hit, p_latent > p_target]
    ).float()
    return rows.reshape(len(MEASURES), layers, items).transpose(1, 2)


def _padded(sets: Sequence[frozenset[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token sets as a [batch, longest] index matrix (padded with 0) and a 0/1 mask."""
    import torch

    width = max(len(ids) for ids in sets)
    index = torch.zeros(len(sets), width, dtype=torch.long)
    mask = torch.zeros(len(sets), width)
    for row, ids in enumerate(sets):
        index[row, : len(ids)] = torch.tensor(sorted(ids))
        mask[row, : len(ids)] = 1.0
    return index, mask


def peak(curve: Sequence[float]) -> int:
    """The layer (index into ``curve``) with the highest value; the first one on ties."""
    return max(range(len(curve)), key=lambda i: (curve[i], -i))


def overtake(target: Sequence[float], latent: Sequence[float], after: int) -> int | None:
    """The first index from ``after`` on where the target curve is above the latent one."""
    return next((i for i in range(after, len(target)) if target[i] > latent[i]), None)
