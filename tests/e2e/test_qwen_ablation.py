"""Sanity of the Qwen2 family on real weights: qwen2.5-coder-0.5b, LAPE on three languages.

The same science as gemma's test on a second family, kept short (three languages
identified and ablated, in the dtype a run picks: bfloat16 where the CPU computes it
natively, float32 where torch would emulate it at a small fraction of the speed): each language's neurons raise its own
perplexity more than any other language's (the ablation matrix is diagonal
dominant), well above a random set of the same per-layer sizes.
"""

import pytest

from langneurons.models.handle import resolve_dtype
from langneurons.tasks.protocol import task_kind
from langneurons.tasks.spec import load_task
from tests.e2e.run import ROOT, lape_run

pytestmark = pytest.mark.slow
MODEL = "qwen2.5-coder-0.5b"
LANGS = ("de", "ru", "zh")
CHECKS = load_task(ROOT / "tasks" / "ablation_perplexity.yaml").fields.checks


@pytest.fixture(scope="module")
def run():
    return lape_run("ablation_perplexity.yaml", LANGS, "auto", MODEL)


@pytest.fixture(scope="module")
def matrix(run):
    """Ablated language -> evaluated language -> the cell's metrics."""
    task, _, evaluate = run
    cells = {(c.params["ablate"], c.params["eval"]): c for c in task_kind(task.kind).cells(task)}
    return {x: {y: evaluate(cells[x, y]).metrics for y in LANGS} for x in LANGS}


@pytest.mark.parametrize("lang", LANGS)
def test_a_languages_neurons_raise_its_own_perplexity_most(run, matrix, lang):
    # LAPE keeps at most 1 % of all 24 x 4864 neurons (as in gemma's test), not a task check
    assert 0 < run[1].neuron_set.count(lang) < 0.01 * 24 * 4864
    row = {evaluated: metrics["ratio"] for evaluated, metrics in matrix[lang].items()}
    assert max(row, key=row.__getitem__) == lang, row
    own = matrix[lang][lang]
    assert own["ratio"] >= CHECKS.min_own_ratio, own
    # this test's own margin, not the task's max_control_ratio: identified on three
    # languages, de's 746 neurons are many, and a random set of their per-layer sizes
    # raised de's perplexity 13 % when identified on the UDHR (own ratios de 28.9, ru 8.8,
    # zh 1.61; controls <= 1.13); it passes on the default help text too
    assert own["control_ratio"] < own["ratio"] / 1.4, own


def test_the_run_is_the_pinned_qwen2_model(run):
    _, context, _ = run
    info = context.handle.info
    assert (info.name, info.family, info.architecture) == (MODEL, "qwen2", "Qwen2ForCausalLM")
    assert (info.num_layers, info.neurons_per_layer) == (24, 4864)
    assert info.dtype == str(resolve_dtype("auto", use_cuda=False)[0]).removeprefix("torch.")
    assert (
        info.revision
        == "gguf-sha256:1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    )
    assert list(context.neuron_set.languages) == list(LANGS)
