"""Bootstrap intervals: every cell metric a kind averages over units carries a 95 % interval.

A percentile bootstrap (Efron and Tibshirani 1993, ch. 13): the units a metric
averages over (windows for perplexity, prompts for steering, items for the logit
lens) are drawn with replacement ``RESAMPLES`` times and the metric is recomputed
on each draw; the interval runs from the 2.5th to the 97.5th percentile of those
replicates. Resampling is *paired*: the draws of a language's units come from one
generator seeded by the task's seed and a key naming the units (CRC-32), so every
condition measured on the same units (unmodified, ablated, each control) is
resampled alike and a ratio's interval reflects the noise of the ratio, not of
its two sides apart. Random controls are a second source of noise: their draws
are resampled too (:func:`draw_indices`), so a control's interval covers which
random sets were drawn as well as which text was scored.

A metric is stored with its interval as three numbers, ``name``, ``name_lo`` and
``name_hi`` (:func:`with_interval`), so results files, checks on a bound and the
terminal read them as metrics.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

#: bootstrap replicates per interval
RESAMPLES = 1000
#: coverage of every interval
LEVEL = 0.95


def unit_indices(units: int, seed: int, key: str) -> np.ndarray:
    """[RESAMPLES, units] indices of units drawn with replacement, the same for the same key.

    Raises:
        ValueError: no units to resample.
    """
    if units < 1:
        raise ValueError(f"no units to resample for {key}")
    generator = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return generator.integers(0, units, size=(RESAMPLES, units))


def draw_indices(draws: int, seed: int, key: str) -> np.ndarray:
    """[RESAMPLES, draws] indices of control draws drawn with replacement."""
    return unit_indices(draws, seed, f"draws/{key}")


def interval(replicates: np.ndarray) -> tuple[float, float]:
    """The central ``LEVEL`` percentile interval of bootstrap replicates."""
    low, high = np.quantile(replicates, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high)


def with_interval(
    metrics: MutableMapping[str, float], name: str, point: float, replicates: np.ndarray
) -> None:
    """Store ``point`` as ``name`` and its interval as ``name_lo`` and ``name_hi``."""
    low, high = interval(replicates)
    metrics[name] = point
    metrics[f"{name}_lo"] = low
    metrics[f"{name}_hi"] = high


def point_and_bounds(metrics: Mapping[str, float], name: str) -> list[float | None]:
    """``[name, name_lo, name_hi]`` of ``metrics``, a bound None where there is no interval."""
    return [metrics[name], metrics.get(f"{name}_lo"), metrics.get(f"{name}_hi")]


def over_draws(values: np.ndarray, picks: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Replicates of the mean of ``values`` [draws, units] over draws and units.

    Replicate b averages the draws ``draws[b]`` on the units ``picks[b]``: both
    sources of a control's noise, resampled at once.
    """
    replicates: np.ndarray = values[draws[:, :, None], picks[:, None, :]].mean(axis=(1, 2))
    return replicates


def spread(values: Sequence[float]) -> float:
    """Sample standard deviation over control draws (0 for a single draw)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
