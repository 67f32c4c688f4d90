"""End to end on the real default model: LAPE neurons steer English prompts to other languages.

Fails if steering stops working (the intervention, the values from statistics,
generation or the judge): with the target's LAPE neurons set to their mean and
the English ones zeroed, most continuations must be fluent text in the target
language, and none must be with no intervention or with the random control.
"""

import math

import pytest

from langneurons.tasks.protocol import task_kind
from langneurons.tasks.spec import load_task
from tests.e2e.run import ROOT, lape_run

pytestmark = pytest.mark.slow
TARGETS = ["zh", "ru", "fr"]
TASK = load_task(ROOT / "tasks" / "steering.yaml")
CHECKS = TASK.fields.checks


@pytest.fixture(scope="module")
def run():
    return lape_run("steering.yaml", langs=("en", *TARGETS))


@pytest.mark.parametrize("target", TARGETS)
def test_lape_neurons_steer_english_prompts_to_the_target(run, target):
    task, _, evaluate = run
    cell = next(c for c in task_kind(task.kind).cells(task) if c.id == f"steer[en>{target}]")
    result = evaluate(cell)
    metrics = result.metrics
    assert metrics["prompts"] == TASK.fields.prompts_per_language
    # the perplexity of the steered text, resampled over prompts as a ratio of sums
    nll, tokens = result.units["steered_nll"], result.units["steered_tokens"]
    assert len(nll) == len(tokens) == metrics["prompts"]
    assert metrics["ppl_steered"] == pytest.approx(math.exp(sum(nll) / sum(tokens)))
    assert metrics["ppl_steered_lo"] < metrics["ppl_steered"] < metrics["ppl_steered_hi"]
    assert metrics["success"] >= CHECKS.min_success, metrics
    assert metrics["baseline"] <= CHECKS.max_baseline, metrics
    assert metrics["control"] <= CHECKS.max_control, metrics
