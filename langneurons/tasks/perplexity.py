"""Negative log-likelihood of text under the model's own forward pass.

Every text token of a window is scored, the first one from the BOS position;
positions are never padded (windows of equal length are batched). Summing NLL and
counting tokens lets callers pool windows and languages exactly.

The head runs on scored positions only, and their log-probabilities are reduced
a slice of the vocabulary at a time (:func:`langneurons.models.logit_lens.readout`),
never as a float32 copy of every position's logits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langneurons.models.logit_lens import final_states, readout
from langneurons.text.windows import Window, batches

if TYPE_CHECKING:
    import torch

    from langneurons.models.handle import ModelHandle

#: the target of a position that is not scored (as in ``torch.nn.functional.cross_entropy``)
IGNORED = -100


@dataclass(frozen=True)
class NLL:
    """Summed negative log-likelihood (nats) over ``tokens`` scored tokens.

    Attributes:
        total: summed NLL over all windows.
        tokens: scored tokens over all windows.
        window_nll: summed NLL of each window, in the order the windows were given.
        window_tokens: scored tokens of each window, in the same order.
    """

    total: float
    tokens: int
    window_nll: tuple[float, ...] = ()
    window_tokens: tuple[int, ...] = ()

    @property
    def perplexity(self) -> float:
        """exp(mean NLL)."""
        return math.exp(self.total / self.tokens)


def nll(handle: ModelHandle, items: Sequence[Window], batch_size: int) -> NLL:
    """Score ``items`` with the model (interventions active in the caller apply)."""
    import torch

    # batches group windows by length: find each window's place in ``items`` again
    places: dict[int, list[int]] = {}
    for place, window in enumerate(items):
        places.setdefault(id(window), []).append(place)
    sums, counts = [0.0] * len(items), [0] * len(items)
    for batch in batches(items, batch_size):
        ids = torch.tensor([w.ids for w in batch], device=handle.model.device)
        start = max(batch[0].prefix, 1)
        targets = torch.full_like(ids, IGNORED)
        targets[:, start - 1 : -1] = ids[:, start:]
        found = summed_nll(handle, {"input_ids": ids, "use_cache": False}, targets)
        for window, value in zip(batch, found.tolist(), strict=True):
            place = places[id(window)].pop(0)
            sums[place], counts[place] = value, len(window.ids) - start
    return NLL(math.fsum(sums), sum(counts), tuple(sums), tuple(counts))


def summed_nll(
    handle: ModelHandle, inputs: Mapping[str, Any], targets: torch.Tensor
) -> torch.Tensor:
    """Summed NLL (nats) of each row of a forward, [batch] float64 on the CPU.

    Args:
        handle: the model, run as a whole (interventions on it apply).
        inputs: the forward's keyword arguments (``input_ids`` and any masks).
        targets: [batch, positions], the token each position predicts, or
            ``IGNORED`` where a position is not scored; the head runs on the
            scored positions only.
    """
    import torch

    states = final_states(handle.model, handle.architecture, inputs)
    scored = targets != IGNORED
    rows = scored.nonzero()[:, 0]
    found = readout(
        handle.model, handle.architecture, states[scored], targets[scored].unsqueeze(1), normed=True
    )
    token_nll = found.logsumexp - found.chosen[:, 0].double()
    summed = torch.zeros(targets.shape[0], dtype=torch.float64, device=token_nll.device)
    return summed.index_add_(0, rows.to(token_nll.device), token_nll).cpu()
