"""End to end on the real default model: LAPE neurons identified on UDHR, ablation on held-out text.

Fails if identification, the ablation hooks or the perplexity pass break: each
checked language's own perplexity must rise well above the others' and above a
random set of the same per-layer sizes.
"""

import pytest

from langneurons.tasks.protocol import task_kind
from tests.e2e.run import lape_run

pytestmark = pytest.mark.slow
CHECKED = ["ru", "id", "es"]


@pytest.fixture(scope="module")
def run():
    return lape_run("ablation_perplexity.yaml")


def cell(task, x, y):
    return next(c for c in task_kind(task.kind).cells(task) if c.params == {"ablate": x, "eval": y})


@pytest.mark.parametrize("lang", CHECKED)
def test_ablating_a_languages_lape_neurons_raises_its_own_perplexity_most(run, lang):
    task, context, evaluate = run
    assert 0 < context.neuron_set.count(lang) < 0.01 * 18 * 2048
    own = evaluate(cell(task, lang, lang))
    assert own.metrics["ratio"] >= 1.5, own.metrics
    assert own.metrics["mean_other_ratio"] <= 1.15, own.metrics
    assert own.metrics["control_ratio"] <= 1.1, own.metrics
    english = evaluate(cell(task, lang, "en"))
    assert english.metrics["ratio"] < own.metrics["ratio"] / 1.4


def test_the_default_run_writes_provenance(run):
    _, context, _ = run
    info = context.handle.info
    assert (info.name, info.num_layers, info.neurons_per_layer) == ("gemma-3-270m", 18, 2048)
    assert (
        info.revision
        == "gguf-sha256:a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    )
    assert context.neuron_set.method["name"] == "lape"
    assert list(context.neuron_set.languages) == run[0].languages
