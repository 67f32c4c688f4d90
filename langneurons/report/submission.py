"""Leaderboard submissions: a results file is checked completely before it is filed.

A results file is untrusted input: its ``sha256`` shows an edit only to an honest
reader, and every string in it may be crafted. A submission is accepted when it
parses as ``langneurons.results/3``, its content matches the ``sha256`` it carries,
every task's spec matches its ``spec_sha256`` *and* the shipped task file of that
name and version, its cells are exactly the task's (none missing, none extra, none
twice, same params), every number is finite, the run was not interrupted, each
cell's ``failures`` (and so ``passed``, which the reader requires to be true
exactly when there is none) are what its kind's checks give from the cell's own
metrics (``TaskKind.failures``), each cell's metrics that its per-unit values
determine are what they give (``TaskKind.unit_metrics``), each task's ``summary``
is what its kind computes from the cells, and no entry for the same model revision and neuron
set exists yet. It is then copied, byte for byte, to
``submissions/<model>/<method>-<set sha256[:12]>.json`` under the leaderboard
folder, where the model and method names are reduced to one ASCII file-name
segment that must resolve inside ``submissions/``. A rejected file gets every
reason, one per line, and nothing is written.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_write_text
from langneurons.errors import FormatError, LangneuronsError
from langneurons.input_files import parse_json, read_text
from langneurons.report import results as results_format
from langneurons.tasks.protocol import Cell, CellResult, task_kind
from langneurons.tasks.spec import TaskFields, TaskSpec, load_task, spec_sha256

NAME_LIMIT = 100  # characters of a model or method name that names a file
SHOWN = 3  # offending items named in one line; the rest are counted
_SHA256 = re.compile(r"[0-9a-f]{64}")


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
    checked, reasons = examine(path, leaderboard, tasks)
    if checked is not None and checked.destination.exists():
        reasons.append(f"duplicate: {checked.destination} already holds this model and neuron set")
    if reasons:
        raise SubmissionError("\n".join(f"{path}: {reason}" for reason in reasons))
    assert checked is not None  # a file without a destination always has a reason
    return checked


def check_filed(leaderboard: Path, tasks: Path) -> list[str]:
    """Every reason a filed entry would not be accepted now (and a misplaced file), one per line.

    What ``leaderboard check`` runs on a pull request that adds a results file
    by hand: anything under ``submissions/`` other than a results file at
    ``<model>/<file>.json`` is a reason too.
    """
    root = leaderboard / "submissions"
    stray = [p for p in sorted(root.rglob("*")) if not p.is_dir() or p.is_symlink()]
    problems = [
        f"{p}: not a results file at submissions/<model>/<file>.json; remove it"
        for p in stray
        if p.is_symlink() or p.suffix != ".json" or p.parent.parent != root
    ]
    for path in sorted(root.glob("*/*.json")):
        if path.is_symlink():
            continue
        try:
            checked, reasons = examine(path, leaderboard, tasks)
        except SubmissionError as error:
            problems.append(str(error))
            continue
        if checked is not None and checked.destination.resolve() != path.resolve():
            reasons.append(f"filed under the wrong name; it belongs at {checked.destination}")
        problems += [f"{path}: {reason}" for reason in reasons]
    return problems


def cell_results(cells: Sequence[results_format.CellRecord]) -> dict[str, CellResult]:
    """A results file's cells as their kind reads them (by id); a null number enters as NaN."""
    return {
        cell.id: CellResult(
            {k: math.nan if v is None else float(v) for k, v in cell.metrics.items()},
            list(cell.failures),
            {k: [math.nan if x is None else x for x in v] for k, v in cell.curves.items()},
            dict(cell.info),
            {k: [math.nan if x is None else x for x in v] for k, v in cell.units.items()},
        )
        for cell in cells
    }


def recomputed_summary(
    task: TaskSpec[TaskFields], cells: Sequence[results_format.CellRecord]
) -> dict[str, float]:
    """The summary scores ``task``'s kind computes from these cell records.

    A results file's ``summary`` is a claim; this is what the leaderboard trusts.
    A null metric enters as NaN, so that a score built on it is not finite.

    Raises:
        SubmissionError: the kind cannot summarise the cells (e.g. a metric is missing).
    """
    try:
        return dict(task_kind(task.kind).summarize(task, cell_results(cells)).scores)
    except KeyError as error:
        raise SubmissionError(
            f"cannot recompute the summary: a cell lacks metric or unit {error}"
        ) from None
    except (TypeError, ValueError, ArithmeticError, IndexError) as error:
        # IndexError: per-unit values of unequal lengths in a cell
        raise SubmissionError(f"cannot recompute the summary from the cells ({error})") from None


def recomputed_metrics(
    task: TaskSpec[TaskFields], cells: Sequence[results_format.CellRecord], cell_id: str
) -> dict[str, float]:
    """The metrics of cell ``cell_id`` that its kind computes from the cells' units.

    Raises:
        KeyError: a unit, or a cell whose units it reads, is missing.
    """
    kind = task_kind(task.kind)
    results = cell_results(cells)
    planned = {cell.id: cell for cell in kind.cells(task)}
    return kind.unit_metrics(task, planned[cell_id], lambda i: results[i].units)


def examine(path: Path, leaderboard: Path, tasks: Path) -> tuple[Checked | None, list[str]]:
    """Every reason ``path`` would not be filed, short of it being filed already.

    Raises:
        SubmissionError: the file is not a results file at all.
    """
    text = _read(path)
    data = parse_json(text, str(path), SubmissionError)
    try:
        parsed = results_format.from_dict(data, str(path))
    except FormatError as error:
        raise SubmissionError(str(error)) from None
    destination, reasons = _destination(parsed, leaderboard)
    reasons = _content_reasons(data) + reasons + _task_reasons(parsed, tasks)
    checked = None if destination is None else Checked(parsed, text, destination)
    return checked, reasons


def submit(path: Path, leaderboard: Path, tasks: Path) -> Path:
    """Check ``path`` and file it; return where it went."""
    checked = check(path, leaderboard, tasks)
    atomic_write_text(checked.destination, checked.text)
    return checked.destination


def _read(path: Path) -> str:
    # missing, a folder, binary, not UTF-8: one line each (langneurons.input_files)
    return read_text(path, "results file", SubmissionError)


def _content_reasons(data: dict[str, Any]) -> list[str]:
    if data["sha256"] != results_format.content_sha256(data):  # present: the reader requires it
        return ["content does not match its sha256: the file was edited after the run"]
    return []


def _task_reasons(parsed: results_format.Results, tasks: Path) -> list[str]:
    complete = parsed.complete  # None: not recorded (upgraded from results/1); cells are counted
    if not parsed.tasks:
        return ["no tasks"]
    shipped = {task.name: task for task in (load_task(p) for p in sorted(tasks.glob("*.yaml")))}
    counts = Counter(record.name for record in parsed.tasks)
    reasons = [f"task {_quote(n)} appears {k} times" for n, k in counts.items() if k > 1]
    ran = planned = 0
    for record in parsed.tasks:
        name = _quote(record.name)
        if counts[record.name] > 1:
            continue
        finite = _finite_reasons(record)
        reasons += finite
        if spec_sha256(record.spec) != record.spec_sha256:
            reasons.append(f"task {name}: spec does not match its spec_sha256")
            continue
        task = shipped.get(record.name)
        if task is None:
            reasons.append(f"task {name}: no such task in {tasks}")
        elif task.fields.version != record.version:
            reasons.append(
                f"task {name}: version {record.version}; {task.path.name} is version "
                f"{task.fields.version}"
            )
        elif task.sha256 != record.spec_sha256:
            reasons.append(
                f"task {name}: spec differs from {task.path.name} "
                "(run with the shipped task file and without --langs)"
            )
        else:
            expected = task_kind(task.kind).cells(task)
            ran, planned = ran + len(record.cells), planned + len(expected)
            cells = _cell_reasons(task, expected, record, missing=complete is not False)
            reasons += cells
            try:
                reasons += _failure_reasons(task, expected, record)
            except SubmissionError as error:  # a missing metric: the summary would say no more
                reasons.append(f"task {name}: {error}")
                continue
            if not cells and not finite:  # a summary of other cells, or of NaN, says nothing
                reasons += _unit_reasons(task, record, upgraded=complete is None)
                reasons += _summary_reasons(task, record)
    if complete is False:
        reasons.insert(0, f"the run was interrupted: {ran} of {planned} cells ran; rerun it")
    return reasons


def _finite_reasons(record: results_format.TaskRecord) -> list[str]:
    """A line per null or non-finite number of the task: NaN and inf are not scores."""
    found = [
        f"cell {_quote(cell.id)}: metric {_quote(key)} is {_json(value)}"
        for cell in record.cells
        for key, value in cell.metrics.items()
        if finite(value) is None
    ]
    found += [
        f"cell {_quote(cell.id)}: curve {_quote(key)} has a non-finite value"
        for cell in record.cells
        for key, values in cell.curves.items()
        if any(finite(v) is None for v in values)
    ]
    found += [
        f"summary {_quote(key)} is {_json(value)}"
        for key, value in record.summary.items()
        if finite(value) is None
    ]
    return _lines(
        f"task {_quote(record.name)}",
        found,
        "not a finite number (the run measured NaN or inf): fix the cause and rerun",
    )


def _cell_reasons(
    task: TaskSpec[TaskFields],
    expected: list[Cell],
    record: results_format.TaskRecord,
    missing: bool,
) -> list[str]:
    """Lines for cells that are not exactly the task's (missing, extra, twice, other params)."""
    name = f"task {_quote(task.name)}"
    planned = {cell.id: cell for cell in expected}
    counts = Counter(cell.id for cell in record.cells)
    reasons = _lines(
        name, [f"cell {_quote(i)} appears {n} times" for i, n in counts.items() if n > 1]
    )
    absent = [cell.id for cell in expected if cell.id not in counts]
    if absent and missing:
        reasons.append(
            f"{name}: {len(absent)} of {len(expected)} cells missing "
            f"({', '.join(absent[:SHOWN])}{', ...' if len(absent) > SHOWN else ''})"
        )
    extra = [_quote(i) for i in counts if i not in planned]
    if extra:
        more = ", ..." if len(extra) > SHOWN else ""
        reasons.append(
            f"{name}: {len(extra)} cells the task does not have ({', '.join(extra[:SHOWN])}{more})"
        )
    params = [
        f"cell {_quote(cell.id)}: params {_quote(cell.params)}, the task's are "
        f"{_quote(dict(planned[cell.id].params))}"
        for cell in record.cells
        if cell.id in planned and cell.params != dict(planned[cell.id].params)
    ]
    return reasons + _lines(name, params)


def _failure_reasons(
    task: TaskSpec[TaskFields], expected: list[Cell], record: results_format.TaskRecord
) -> list[str]:
    """Lines for cells whose ``failures`` differ from what their kind's checks give.

    Each record's failures are recomputed by ``task_kind(kind).failures`` from its
    own metrics, judged as the planned cell of its id (other params are
    :func:`_cell_reasons`'s). ``passed`` is ``failures == []`` in every record the
    reader accepts, so this checks both. The messages are compared as sets: the
    same code formats them from the same floats (a JSON float reads back exactly),
    so an honest file's agree; order and repeats do not matter. Skipped: records
    of no planned cell, and records with a null metric or curve value, since a
    null stands for NaN or an infinity and which one is lost (such a record has
    failed, and :func:`_finite_reasons` refuses it).

    Raises:
        SubmissionError: a metric a check reads is missing (one line for the task).
    """
    kind = task_kind(task.kind)
    planned = {cell.id: cell for cell in expected}
    found = []
    for record_cell in record.cells:
        cell = planned.get(record_cell.id)
        metrics = record_cell.metrics
        nulls = None in metrics.values() or any(None in v for v in record_cell.curves.values())
        if cell is None or nulls:
            continue
        try:
            given = kind.failures(task, cell, _checked_metrics(record_cell))
        except KeyError as error:
            raise SubmissionError(
                f"cannot recompute the failures: cell {_quote(cell.id)} lacks metric {error}"
            ) from None
        claimed = record_cell.failures
        if set(claimed) == set(given):
            continue
        if not claimed:
            found.append(
                f"cell {_quote(cell.id)}: passed, yet its metrics fail: {'; '.join(given)}"
            )
        elif not given:
            found.append(
                f"cell {_quote(cell.id)}: failed ({_quote(claimed)}), yet its metrics pass every check"
            )
        else:
            found.append(
                f"cell {_quote(cell.id)}: lists failures {_quote(claimed)}; "
                f"its metrics give: {'; '.join(given)}"
            )
    return _lines(f"task {_quote(task.name)}", found, "failures are recomputed, not trusted")


def _unit_reasons(
    task: TaskSpec[TaskFields], record: results_format.TaskRecord, upgraded: bool
) -> list[str]:
    """Lines for cell metrics that differ from what the kind computes from the cells' units.

    ``TaskKind.unit_metrics`` gives every estimate and interval bound the units
    determine; each must be in the cell's metrics, equal to within float rounding.
    A cell of a results/3 run that claims an interval without the units it was
    drawn from is refused; a file upgraded from results/1 kept no units.
    """
    found = []
    for record_cell in record.cells:
        cell_id, metrics = _quote(record_cell.id), record_cell.metrics
        if not record_cell.units:
            if not upgraded and any(key.endswith("_lo") for key in metrics):
                found.append(f"cell {cell_id}: has intervals but not the units they resample")
            continue
        try:
            given = recomputed_metrics(task, record.cells, record_cell.id)
        except (KeyError, TypeError, ValueError, IndexError, ArithmeticError) as error:
            found.append(f"cell {cell_id}: cannot recompute its metrics from its units ({error})")
            continue
        for key, value in given.items():
            claimed = metrics.get(key)
            if claimed is None:
                found.append(
                    f"cell {cell_id}: lacks metric {_quote(key)} (its units give {value:.6g})"
                )
            elif not math.isclose(claimed, value, rel_tol=1e-9, abs_tol=1e-12):
                found.append(
                    f"cell {cell_id}: metric {_quote(key)} is {claimed:.6g}; its units give {value:.6g}"
                )
    return _lines(
        f"task {_quote(task.name)}", found, "cell metrics are recomputed from their units"
    )


def _checked_metrics(record: results_format.CellRecord) -> dict[str, float]:
    """A record's metrics as its checks read them (the caller skips records with a null)."""
    return {key: value for key, value in record.metrics.items() if value is not None}


def _summary_reasons(task: TaskSpec[TaskFields], record: results_format.TaskRecord) -> list[str]:
    """Lines for summary scores that differ from what the task's kind computes from the cells."""
    name = f"task {_quote(task.name)}"
    try:
        scores = recomputed_summary(task, record.cells)
    except SubmissionError as error:
        return [f"{name}: {error}"]
    # only numbers: a null summary is refused before this runs (_finite_reasons)
    claimed = {key: value for key, value in record.summary.items() if value is not None}
    reasons = []
    for key in sorted(set(scores) | set(claimed)):
        if key not in claimed:
            reasons.append(
                f"{name}: summary lacks {_quote(key)} (its cells give {scores[key]:.6g})"
            )
        elif key not in scores:
            reasons.append(f"{name}: summary has {_quote(key)}, which its cells do not give")
        elif not math.isclose(value := claimed[key], scores[key], rel_tol=1e-9, abs_tol=1e-12):
            reasons.append(
                f"{name}: summary {_quote(key)} is {value:.6g}; its cells give "
                f"{scores[key]:.6g} (summaries are recomputed, not trusted)"
            )
    return reasons


def _destination(
    parsed: results_format.Results, leaderboard: Path
) -> tuple[Path | None, list[str]]:
    """``submissions/<model>/<method>-<sha[:12]>.json``, checked to resolve inside ``submissions/``."""
    model, model_reason = _segment(parsed.model.get("name"), "model.name")
    method, method_reason = _segment(parsed.neuron_set.method.name, "neuron_set.method.name")
    reasons = [reason for reason in (model_reason, method_reason) if reason is not None]
    sha = parsed.neuron_set.sha256
    if not _SHA256.fullmatch(sha):
        reasons.append(
            f"neuron_set.sha256 {_quote(sha)} is not 64 lowercase hex digits; "
            "submit the file the benchmark wrote"
        )
    if reasons:
        return None, reasons
    root = leaderboard / "submissions"
    destination = root / model / f"{method}-{sha[:12]}.json"
    if destination.resolve().parent != root.resolve() / model:
        return None, [
            f"{destination} resolves to {destination.resolve()}, outside {root}; "
            f"replace the link {root / model} by a folder"
        ]
    return destination, []


def _segment(value: object, where: str) -> tuple[str, str | None]:
    """``value`` as one file-name segment, or the reason it cannot name a file."""
    if not isinstance(value, str):
        return "", f"{where} is {_quote(value)}, not a string"
    safe = _safe(value)
    if not safe:
        return (
            "",
            f"{where} {_quote(value)} has no ASCII letter or digit to name a file by; rename it",
        )
    if len(safe) > NAME_LIMIT:
        return "", f"{where} is {len(value)} characters; at most {NAME_LIMIT} name a file"
    return safe, None


def _safe(name: str) -> str:
    """ASCII letters, digits, ``.``, ``_`` and ``-``, trimmed so that it is never ``.`` or ``..``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")


def finite(value: float | None) -> float | None:
    """``value``, or None for a null, NaN or infinity (:func:`~langneurons.report.results.finite_or_none`)."""
    return None if value is None else results_format.finite_or_none(value)


def _json(value: object) -> str:
    return "null" if value is None else str(value)


def _quote(value: object) -> str:
    """A submitted value in a message: repr, so that no newline or terminal escape gets through; short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lines(prefix: str, items: list[str], why: str = "") -> list[str]:
    """One line per item, the first ``SHOWN`` of them and a count of the rest."""
    suffix = f": {why}" if why else ""
    lines = [f"{prefix}: {item}{suffix}" for item in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(f"{prefix}: {len(items) - SHOWN} more like these")
    return lines
