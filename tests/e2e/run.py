"""One task on the real default model with LAPE neurons, as the benchmark runs it."""

from pathlib import Path

from langneurons.run.session import BenchmarkSession, RunOptions
from langneurons.tasks.protocol import task_kind

ROOT = Path(__file__).resolve().parents[2]


def lape_run(task_file, langs=None, dtype="auto"):
    """Return (task, context, cell evaluator) for ``tasks/<task_file>`` on gemma-3-270m."""
    session = BenchmarkSession(
        RunOptions(
            model="gemma-3-270m",
            neurons="lape",
            tasks=(ROOT / "tasks" / task_file,),
            langs=langs,
            dtype=dtype,
            progress=False,
        )
    )
    context = session.context("lape")
    task = session.tasks[0]
    return task, context, task_kind(task.kind).evaluator(task, context)
