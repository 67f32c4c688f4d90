"""On-disk cache of activation statistics, keyed by everything that determines them.

The key is the sha256 of: the statistics format, the model's source and resolved
revision, the dtype, the neuron site, the corpus content hash, the window and the
token budget. A file lock makes parallel workers (pytest-xdist) compute a missing
entry once while the others wait and then read it.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langneurons.canonical import sha256_of
from langneurons.neurons import statistics
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
    with _locked(path.with_suffix(".lock")):
        if path.is_file():
            return statistics.load(path), True
        stats = compute()
        statistics.save(stats, path)
        return stats, False


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
