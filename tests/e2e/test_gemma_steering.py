"""End to end on the real default model: LAPE neurons steer English prompts to other languages.

Fails if steering stops working (the intervention, the values from statistics,
generation or the judge): with the target's LAPE neurons set to their mean and
the English ones zeroed, most continuations must be fluent text in the target
language, and none must be with no intervention or with the random control.
"""

from pathlib import Path

import pytest

from langneurons.session import BenchmarkSession, RunOptions
from langneurons.task_kind import task_kind

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["zh", "ru", "fr"]


@pytest.fixture(scope="module")
def run():
    session = BenchmarkSession(
        RunOptions(
            model="gemma-3-270m",
            neurons="lape",
            tasks=(ROOT / "tasks" / "steering.yaml",),
            langs=("en", *TARGETS),
            progress=False,
        )
    )
    task = session.tasks[0]
    return task, task_kind(task.kind).evaluator(task, session.context("lape"))


@pytest.mark.parametrize("target", TARGETS)
def test_lape_neurons_steer_english_prompts_to_the_target(run, target):
    task, evaluate = run
    cell = next(c for c in task_kind(task.kind).cells(task) if c.id == f"steer[en>{target}]")
    metrics = evaluate(cell).metrics
    assert metrics["prompts"] == 20
    assert metrics["success"] >= 0.7, metrics
    assert metrics["baseline"] <= 0.1, metrics
    assert metrics["control"] <= 0.1, metrics
