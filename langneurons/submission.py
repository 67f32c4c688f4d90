"""Leaderboard submissions: a results file is checked completely before it is filed.

A submission is accepted when it parses as ``langneurons.results/1``, its content
matches the ``sha256`` it carries, every task's spec matches its ``spec_sha256``
*and* the shipped task file of that name and version, every cell of each task is
there, and no entry for the same model revision and neuron set exists yet. It is
then copied, byte for byte, to ``submissions/<model>/<method>-<set sha256[:12]>.json``
under the leaderboard folder. A rejected file gets every reason, one per line,
and nothing is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langneurons import results as results_format
from langneurons.atomic_write import atomic_write_text
from langneurons.errors import FormatError, LangneuronsError
from langneurons.task_kind import task_kind
from langneurons.task_spec import TaskSpec, load_task, spec_sha256


class SubmissionError(LangneuronsError):
    """A results file the leaderboard does not accept; the message lists every reason."""


@dataclass(frozen=True)
class Checked:
    """An accepted results file and where it is filed."""

    results: results_format.Results
    text: str
    destination: Path


def check(path: Path, leaderboard: Path, tasks: Path) -> Checked:
    """Validate ``path`` against the task files in ``tasks`` and the filed entries.

    Raises:
        SubmissionError: one line per reason the file is not accepted.
    """
    checked, reasons = _examine(path, leaderboard, tasks)
    if checked.destination.exists():
        reasons.append(f"duplicate: {checked.destination} already holds this model and neuron set")
    if reasons:
        raise SubmissionError("\n".join(f"{path}: {reason}" for reason in reasons))
    return checked


def check_filed(leaderboard: Path, tasks: Path) -> list[str]:
    """Every reason a filed entry would not be accepted now (and a misplaced file), one per line."""
    problems = []
    for path in sorted((leaderboard / "submissions").glob("*/*.json")):
        try:
            checked, reasons = _examine(path, leaderboard, tasks)
        except SubmissionError as error:
            problems.append(str(error))
            continue
        if checked.destination.resolve() != path.resolve():
            reasons.append(f"filed under the wrong name; it belongs at {checked.destination}")
        problems += [f"{path}: {reason}" for reason in reasons]
    return problems


def _examine(path: Path, leaderboard: Path, tasks: Path) -> tuple[Checked, list[str]]:
    text = _read(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{path}: not valid JSON ({error}); is the file truncated?") from None
    try:
        parsed = results_format.from_dict(data, str(path))
    except FormatError as error:
        raise SubmissionError(str(error)) from None
    reasons = _content_reasons(data) + _task_reasons(parsed, tasks)
    destination = leaderboard / "submissions" / _safe(parsed.model["name"]) / _entry_name(parsed)
    return Checked(parsed, text, destination), reasons


def submit(path: Path, leaderboard: Path, tasks: Path) -> Path:
    """Check ``path`` and file it; return where it went."""
    checked = check(path, leaderboard, tasks)
    atomic_write_text(checked.destination, checked.text)
    return checked.destination


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such file") from None


def _content_reasons(data: dict[str, Any]) -> list[str]:
    claimed = data.get("sha256")
    if claimed is None:
        return ["no sha256: the file predates content hashes; run the benchmark again"]
    if claimed != results_format.content_sha256(data):
        return ["content does not match its sha256: the file was edited after the run"]
    return []


def _task_reasons(parsed: results_format.Results, tasks: Path) -> list[str]:
    if not parsed.tasks:
        return ["no tasks"]
    shipped = {task.name: task for task in (load_task(p) for p in sorted(tasks.glob("*.yaml")))}
    reasons = []
    for record in parsed.tasks:
        name = record.name
        if spec_sha256(record.spec) != record.spec_sha256:
            reasons.append(f"task '{name}': spec does not match its spec_sha256")
            continue
        task = shipped.get(name)
        if task is None:
            reasons.append(f"task '{name}': no such task in {tasks}")
        elif task.fields.version != record.version:
            reasons.append(
                f"task '{name}': version {record.version}; {task.path.name} is version "
                f"{task.fields.version}"
            )
        elif task.sha256 != record.spec_sha256:
            reasons.append(
                f"task '{name}': spec differs from {task.path.name} "
                "(run with the shipped task file and without --langs)"
            )
        else:
            reasons += _missing_cells(task, [cell.id for cell in record.cells])
    return reasons


def _missing_cells(task: TaskSpec, found: list[str]) -> list[str]:
    expected = [cell.id for cell in task_kind(task.kind).cells(task)]
    missing = [cell for cell in expected if cell not in found]
    if not missing:
        return []
    return [
        f"task '{task.name}': {len(missing)} of {len(expected)} cells missing "
        f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})"
    ]


def _entry_name(parsed: results_format.Results) -> str:
    method = _safe(str(parsed.neuron_set.method.get("name", "set")))
    return f"{method}-{parsed.neuron_set.sha256[:12]}.json"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "unnamed"
