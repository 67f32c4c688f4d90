"""What the end of a benchmark run prints: each task's table, sets side by side, timings, files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from langneurons.columns import estimate, table
from langneurons.report.results import ModelRecord
from langneurons.tasks.protocol import Summary


def model_line(model: ModelRecord) -> str:
    """The model, its revision, and the dtype and device it ran in (and why that dtype)."""
    return (
        f"model {model['name']} ({model['revision']}), {model['dtype']} on {model['device']}"
        f" ({model['dtype_choice']})"
    )


def task_section(task: str, neurons: str, cells: int, passed: int, summary: Summary) -> list[str]:
    """One task's table for one neuron set, with its scores."""
    scores = ", ".join(f"{k} {estimate(summary.scores, k, 3)}" for k in _points(summary.scores))
    return [
        "",
        f"{task}, neurons: {neurons} ({cells} cells, {passed} passed)",
        summary.table,
        f"scores: {scores}",
    ]


def side_by_side(scores: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Every ``task.score`` of several sets: a row per score, a column per set (stays narrow)."""
    names = sorted({k for s in scores.values() for k in _points(s)})
    rows = [
        [name, *(estimate(s, name, 3) if name in s else "-" for s in scores.values())]
        for name in names
    ]
    return ["", "neuron sets side by side", table(["score", *scores], rows)]


def _points(scores: Mapping[str, float]) -> list[str]:
    """The scores' names but the bounds of intervals, which print beside their point."""
    return [k for k in scores if not (k.endswith(("_lo", "_hi")) and k[:-3] in scores)]


def timing_line(timings: Mapping[str, float], over_workers: bool) -> str:
    """Seconds per phase (summed over xdist workers where there were any)."""
    label = "seconds (phases summed over workers)" if over_workers else "seconds"
    return f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())


def file_lines(written: Sequence[tuple[Path, bool]], figures: Sequence[Path]) -> list[str]:
    """The results files (marked when incomplete) and figures the run wrote."""
    lines = [
        f"results: {path}" + ("" if complete else " (incomplete: not every planned cell ran)")
        for path, complete in written
    ]
    return lines + [f"figure: {path}" for path in figures]
