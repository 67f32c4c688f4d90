"""Where langneurons keeps files: the only module that reads environment variables.

``LANGNEURONS_CACHE`` (default ``~/.cache/langneurons``) holds prepared models,
corpora, activation statistics and identified neuron sets; nothing there is ever
committed. ``LANGNEURONS_REFERENCE_DIR`` (default ``../shared/reference`` beside the
checkout) holds the authors' published data used by the conformance tests. torchrun's
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` place a process among data-parallel ranks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

_REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Return the cache root (not created here)."""
    return Path(os.environ.get("LANGNEURONS_CACHE", "~/.cache/langneurons")).expanduser()


def models_dir() -> Path:
    """Return the folder of models prepared from PyPI packages."""
    return cache_dir() / "models"


def corpora_dir() -> Path:
    """Return the folder of parsed corpora."""
    return cache_dir() / "corpora"


def statistics_dir() -> Path:
    """Return the folder of cached activation statistics."""
    return cache_dir() / "statistics"


def neuron_sets_dir() -> Path:
    """Return the folder of neuron sets identified on the fly."""
    return cache_dir() / "neuron_sets"


def reference_dir() -> Path:
    """Return the folder of the authors' published reference data."""
    default = _REPO_ROOT.parent / "shared" / "reference"
    return Path(os.environ.get("LANGNEURONS_REFERENCE_DIR", str(default))).expanduser()


def hub_offline() -> bool:
    """Return True when the user declared the Hugging Face hub unreachable."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


class Launch(NamedTuple):
    """Where torchrun placed this process: its global rank, the number of ranks, its local rank."""

    rank: int
    world_size: int
    local_rank: int


def torchrun_launch() -> Launch | None:
    """Return this process's place among torchrun's ranks, or None when torchrun did not start it."""
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    if not all(name in os.environ for name in names):
        return None
    return Launch(*(int(os.environ[name]) for name in names))
