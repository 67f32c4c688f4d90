"""One task on a real model (default gemma-3-270m) with LAPE neurons, as the benchmark runs it."""

from pathlib import Path

from langneurons.run.session import BenchmarkSession, RunOptions
from langneurons.tasks.protocol import task_kind

ROOT = Path(__file__).resolve().parents[2]


def lape_run(task_file, langs=None, dtype="auto", model="gemma-3-270m"):
    """Return (task, context, cell evaluator) for ``tasks/<task_file>`` (or an absolute path) on ``model``."""
    session = BenchmarkSession(
        RunOptions(
            model=model,
            neurons="lape",
            tasks=(ROOT / "tasks" / task_file,),  # an absolute path stands for itself
            langs=langs,
            dtype=dtype,
            progress=False,
        )
    )
    context = session.context("lape")
    task = session.tasks[0]
    return task, context, task_kind(task.kind).evaluator(task, context)
