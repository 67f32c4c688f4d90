"""Zhang et al. 2025's four phases of multilingual inference, located from a neuron set.

Zhang et al. 2025 (arXiv:2505.21505, Section 4) read four phases off the per-layer
counts of language neurons (language-specific plus language-related): many in the
first layers (*multilingual understanding*), few in the middle where
language-agnostic neurons dominate (*shared semantic reasoning*), many again in the
later layers (*multilingual output transformation*), and fewer in the last layers,
which map into the vocabulary shared by all languages (*vocabulary output*). The
paper draws the boundaries from its figures and publishes no rule or code for them
(NJUNLP/Language-Neurons-Alignment has none), so langneurons makes the reading
explicit and reproducible:

1. ``d[l]`` = distinct language neurons in layer ``l``.
2. The output peak ``p`` is the first layer of largest ``d`` in the second half of
   the model; *vocabulary output* is every layer after ``p`` (empty when ``p`` is
   the last layer).
3. Layers ``0..p`` are cut into three contiguous, non-empty segments by the exact
   least-squares fit of a step function to ``log(1 + d)`` (the logarithm keeps the
   large late counts from swamping the early ones); the segments are, in order,
   *understanding*, *reasoning* and *output transformation*.

``matches_paper`` says whether the result has the shape the paper describes: the
reasoning segment holds fewer language neurons per layer than the two around it,
and a vocabulary-output phase exists. On the published Mistral-7B mask this finds
layers 0-4, 5-17, 18-29 and 30-31.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PHASES = ("understanding", "reasoning", "output transformation", "vocabulary output")


@dataclass(frozen=True)
class Phases:
    """Layer ranges of the four phases, as ``(first, last)`` inclusive, or ``None`` when empty.

    Attributes:
        ranges: phase name (one of :data:`PHASES`) -> layer range.
        matches_paper: the middle phase is a valley and a vocabulary-output phase exists.
    """

    ranges: dict[str, tuple[int, int] | None]
    matches_paper: bool

    def label(self, phase: str) -> str:
        """``"5-17"``, ``"30"``, or ``"-"`` for an empty phase."""
        span = self.ranges[phase]
        if span is None:
            return "-"
        first, last = span
        return str(first) if first == last else f"{first}-{last}"


def locate(per_layer: Sequence[int]) -> Phases:
    """Locate the four phases from language neurons per layer (see the module docstring).

    Raises:
        ValueError: fewer than four layers.
    """
    layers = len(per_layer)
    if layers < 4:
        raise ValueError(f"four phases need at least four layers, got {layers}")
    half = layers // 2
    peak = max(range(half, layers), key=lambda i: (per_layer[i], -i))
    first, second = _three_segments([math.log1p(c) for c in per_layer[: peak + 1]])
    ranges: dict[str, tuple[int, int] | None] = {
        PHASES[0]: (0, first - 1),
        PHASES[1]: (first, second - 1),
        PHASES[2]: (second, peak),
        PHASES[3]: (peak + 1, layers - 1) if peak + 1 < layers else None,
    }
    means = [_mean(per_layer, span) for span in list(ranges.values())[:3]]
    valley = means[1] < means[0] and means[1] < means[2]
    return Phases(ranges, valley and ranges[PHASES[3]] is not None)


def _three_segments(values: Sequence[float]) -> tuple[int, int]:
    """Cut points ``(a, b)`` of the least-squares 3-step fit: ``[0, a)``, ``[a, b)``, ``[b, n)``.

    Exhaustive over all cuts (at most a few hundred layers, so O(n^2) is instant); ties
    go to the earliest cuts. Needs at least three values.
    """
    n = len(values)
    prefix, squares = [0.0], [0.0]
    for v in values:
        prefix.append(prefix[-1] + v)
        squares.append(squares[-1] + v * v)

    def sse(i: int, j: int) -> float:
        total = prefix[j] - prefix[i]
        return squares[j] - squares[i] - total * total / (j - i)

    return min(
        ((a, b) for a in range(1, n - 1) for b in range(a + 1, n)),
        key=lambda cut: sse(0, cut[0]) + sse(cut[0], cut[1]) + sse(cut[1], n),
    )


def _mean(per_layer: Sequence[int], span: tuple[int, int] | None) -> float:
    if span is None:
        return 0.0
    first, last = span
    return sum(per_layer[first : last + 1]) / (last - first + 1)
