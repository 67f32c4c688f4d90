"""Negative log-likelihood of text under the model's own forward pass.

Every text token of a window is scored, the first one from the BOS position;
positions are never padded (windows of equal length are batched). Summing NLL and
counting tokens lets callers pool windows and languages exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langneurons.text.windows import Window, batches

if TYPE_CHECKING:
    from langneurons.models.handle import ModelHandle


@dataclass(frozen=True)
class NLL:
    """Summed negative log-likelihood (nats) over ``tokens`` scored tokens."""

    total: float
    tokens: int

    @property
    def perplexity(self) -> float:
        """exp(mean NLL)."""
        return math.exp(self.total / self.tokens)


def nll(handle: ModelHandle, items: Sequence[Window], batch_size: int) -> NLL:
    """Score ``items`` with the model (interventions active in the caller apply)."""
    import torch
    import torch.nn.functional as F

    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in batches(items, batch_size):
            ids = torch.tensor([w.ids for w in batch], device=handle.model.device)
            start = max(batch[0].prefix, 1)
            logits = handle.model(input_ids=ids, use_cache=False).logits
            targets = ids[:, start:]
            scored = logits[:, start - 1 : -1].float()
            total += F.cross_entropy(
                scored.reshape(-1, scored.size(-1)), targets.reshape(-1), reduction="sum"
            ).item()
            count += targets.numel()
    return NLL(total, count)
