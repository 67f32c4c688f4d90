"""On-disk cache of activation statistics, keyed by everything that determines them.

The key is the sha256 of: the statistics format, the model's source and resolved
revision, the dtype, the neuron site, the corpus content hash, the window and the
token budget (never the number of processes that collected them). A file lock
makes parallel workers (pytest-xdist) compute a missing entry once while the
others wait and then read it; torchrun's ranks compute it together and rank 0
writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langneurons.atomic_write import locked
from langneurons.canonical import sha256_of
from langneurons.neurons import sharding, statistics
from langneurons.neurons.statistics import ActivationStats
from langneurons.paths import statistics_dir


def statistics_key(fields: dict[str, Any]) -> str:
    """Return the cache key of statistics described by ``fields``."""
    return sha256_of({"format": statistics.FORMAT, **fields})


def statistics_path(model_name: str, key: str) -> Path:
    """Return where statistics with ``key`` are cached."""
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in model_name)
    return statistics_dir() / safe / f"{key[:24]}.safetensors"


def cached_statistics(
    path: Path, compute: Callable[[], ActivationStats]
) -> tuple[ActivationStats, bool]:
    """Return the statistics at ``path``, computing and saving them when missing.

    Returns:
        The statistics and whether they came from the cache.
    """
    if path.is_file():
        return statistics.load(path), True
    with locked(path.with_suffix(".lock")):
        if path.is_file():
            return statistics.load(path), True
        stats = compute()
        statistics.save(stats, path)
        return stats, False


def cached_by_ranks(
    path: Path, compute: Callable[[], ActivationStats]
) -> tuple[ActivationStats, bool]:
    """:func:`cached_statistics` for torchrun's ranks, where ``compute`` ends in an all-reduce.

    Either every rank reads the cache or every rank computes (one that read it
    would leave the others waiting in the all-reduce), so they agree first; rank 0
    alone writes the entry.
    """
    if sharding.all_agree(path.is_file()):
        return statistics.load(path), True
    stats = compute()
    if sharding.leads():
        statistics.save(stats, path)
    return stats, False
