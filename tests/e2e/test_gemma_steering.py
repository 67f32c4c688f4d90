"""End to end on the real default model: LAPE neurons steer English prompts to other languages.

Fails if steering stops working (the intervention, the values from statistics,
generation or the judge): with the target's LAPE neurons set to their mean and
the English ones zeroed, most continuations must be fluent text in the target
language, and none must be with no intervention or with the random control.
"""

import pytest

from langneurons.tasks.protocol import task_kind
from tests.e2e.run import lape_run

pytestmark = pytest.mark.slow
TARGETS = ["zh", "ru", "fr"]


@pytest.fixture(scope="module")
def run():
    return lape_run("steering.yaml", langs=("en", *TARGETS))


@pytest.mark.parametrize("target", TARGETS)
def test_lape_neurons_steer_english_prompts_to_the_target(run, target):
    task, _, evaluate = run
    cell = next(c for c in task_kind(task.kind).cells(task) if c.id == f"steer[en>{target}]")
    metrics = evaluate(cell).metrics
    assert metrics["prompts"] == 20
    assert metrics["success"] >= 0.7, metrics
    assert metrics["baseline"] <= 0.1, metrics
    assert metrics["control"] <= 0.1, metrics
