"""Write the lock (``requirements.lock``) from a virtual environment, or show its drift.

``make lock`` installs the newest versions pyproject.toml allows into a fresh
environment and freezes it here; ``make test-latest`` does the same and prints,
with ``--diff``, what differs from the committed lock. Local version labels
(``torch==2.13.0+cpu``) are dropped, so the pin matches a platform's own build.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

from langneurons.provenance import lock_pins


def frozen(venv: Path) -> dict[str, str]:
    """Installed distributions of ``venv`` (name -> version), the project itself left out."""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    pins = {}
    for line in done.stdout.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^+\s]+)(\+\S+)?", line.strip())
        if match and match.group(1).lower() != "langneurons":
            pins[match.group(1).lower()] = match.group(2)
    return pins


def render(pins: dict[str, str], python: str) -> str:
    """The lock's text: a header saying how to regenerate it, then one pin per line."""
    header = (
        "# The exact set of versions `make` installs and CI tests (CPython "
        f"{python}, Linux x86_64).\n# Regenerate with `make lock`; pyproject.toml keeps "
        "the ranges for library users.\n"
    )
    return header + "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


def main() -> int:
    """Freeze ``venv`` into ``out`` (``-`` for none), or print its drift from ``--diff``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("venv", type=Path)
    parser.add_argument("out", help="lock file to write, or - to write none")
    parser.add_argument("--diff", type=Path, default=None, help="lock to compare with")
    args = parser.parse_args()
    pins = frozen(args.venv)
    if args.out != "-":
        python = subprocess.run(
            [
                str(args.venv / "bin" / "python"),
                "-c",
                "import sys; print(*sys.version_info[:2], sep='.')",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(args.out).write_text(render(pins, python))
        print(f"{args.out}: {len(pins)} pins")
    if args.diff is not None:
        locked = lock_pins(args.diff.read_text())
        changed = [
            f"  {name}: {locked.get(name, '-')} -> {pins.get(name, '-')}"
            for name in sorted(set(locked) | set(pins))
            if locked.get(name) != pins.get(name)
        ]
        print(f"newest allowed versions against {args.diff}: {len(changed)} differ")
        print("\n".join(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
