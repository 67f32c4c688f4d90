"""A linear probe: multinomial logistic regression on hidden states, scored on held-out items.

Features are standardised with the training split's mean and deviation; weights
start at zero and are fitted by L-BFGS on the mean cross-entropy plus an L2 penalty,
so a fit is deterministic. The split is by concept (:func:`held_out`), so a
test item's concept was never seen in training, in any language.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def held_out(concepts: Sequence[str], share: float, seed: int) -> set[str]:
    """The concepts whose items are held out: ``share`` of the distinct ones, drawn with ``seed``."""
    distinct = sorted(set(concepts))
    count = min(len(distinct) - 1, max(1, round(share * len(distinct))))
    return set(random.Random(seed).sample(distinct, count))


def probe_hits(
    features: torch.Tensor,
    labels: torch.Tensor,
    train: torch.Tensor,
    l2: float = 1e-2,
    iterations: int = 100,
) -> np.ndarray:
    """Fit on ``features[train]`` [N, H]; per other row, 1.0 where the probe names its class.

    Per row, not the accuracy alone, so that the accuracy can be resampled over
    the held-out rows.

    Args:
        features: one row per item.
        labels: class index per item, 0..C-1.
        train: True for training rows; the rest are scored.
        l2: weight of the squared-weights penalty.
        iterations: L-BFGS iterations at most.
    """
    import torch
    import torch.nn.functional as F

    x = features.double()
    mean, std = x[train].mean(0), x[train].std(0).clamp_min(1e-6)
    z = (x - mean) / std
    classes = int(labels.max()) + 1
    weights = torch.zeros(z.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weights, bias], max_iter=iterations, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimizer.zero_grad()
        value = F.cross_entropy(z[train] @ weights + bias, labels[train])
        value = value + l2 * weights.pow(2).sum()
        value.backward()  # type: ignore[no-untyped-call]
        return value

    with torch.enable_grad():
        optimizer.step(loss)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        predicted = (z[~train] @ weights + bias).argmax(-1)
    hits: np.ndarray = (predicted == labels[~train]).double().numpy()
    return hits
