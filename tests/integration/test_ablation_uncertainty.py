"""The ablation kind's intervals and control draws, on the tiny model and its text."""

import numpy as np
import pytest

from langneurons.models.handle import load_model, resolve_model
from langneurons.models.interventions import ablate
from langneurons.neurons.controls import matched_random
from langneurons.neurons.neuron_set import load
from langneurons.tasks.context import RunContext, Timings
from langneurons.tasks.perplexity import nll
from langneurons.tasks.protocol import Cell, task_kind
from langneurons.tasks.spec import load_task
from langneurons.tasks.uncertainty import interval, unit_indices
from langneurons.text.corpus import paragraphs
from langneurons.text.windows import windows
from tests.synthetic import TINY_ABLATION_TASK, tiny_neuron_set, write_text_corpus


@pytest.fixture(scope="module")
def run(tiny_model_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ablation")
    corpus = write_text_corpus(folder / "text")
    (folder / "tiny.yaml").write_text(TINY_ABLATION_TASK.format(name="tiny", corpus=corpus))
    task = load_task(folder / "tiny.yaml")
    handle = load_model(resolve_model(str(tiny_model_folder)), device="cpu")
    neuron_set = load(tiny_neuron_set(folder, tiny_model_folder))
    context = RunContext(handle, neuron_set, 4, 0, Timings(), statistics=lambda: None)
    return task, context, task_kind("ablation").evaluator(task, context)


def french_windows(task, handle):
    """The windows the task scores French on."""
    return windows(
        handle.tokenizer,
        paragraphs(task.corpus, "fr", "evaluate"),
        task.fields.window,
        task.fields.tokens_per_language,
    )


def cell(task, x, y):
    return Cell(task.name, f"ablate[{x}]-eval[{y}]", {"ablate": x, "eval": y})


def test_the_control_is_the_mean_of_independent_draws(run):
    task, context, evaluate = run
    metrics = evaluate(cell(task, "de", "fr")).metrics
    draws = task.fields.control.draws
    assert draws == 5 and metrics["control_draws"] == draws
    handle = context.handle
    items = french_windows(task, handle)
    base = nll(handle, items, 4).perplexity
    ratios = []
    for i in range(draws):
        control = matched_random(context.neuron_set, task.fields.control.seed, i)
        with ablate(handle.model, control.languages["de"], handle.architecture, start=1):
            ratios.append(nll(handle, items, 4).perplexity / base)
    assert len(set(ratios)) > 1  # the draws are different sets
    assert metrics["control_ratio"] == pytest.approx(np.mean(ratios), rel=1e-9)
    assert metrics["control_ratio_sd"] == pytest.approx(np.std(ratios, ddof=1), rel=1e-9)
    assert metrics["control_ratio_lo"] <= metrics["control_ratio"] <= metrics["control_ratio_hi"]


def test_the_ratio_interval_resamples_windows_paired_across_conditions(run):
    task, context, evaluate = run
    metrics = evaluate(cell(task, "fr", "fr")).metrics
    assert metrics["windows"] == 2  # 24 tokens in windows of 12
    handle = context.handle
    items = french_windows(task, handle)
    base = nll(handle, items, 4)
    with ablate(handle.model, context.neuron_set.languages["fr"], handle.architecture, start=1):
        ablated = nll(handle, items, 4)
    picks = unit_indices(2, task.fields.control.seed, f"{task.name}/fr")
    tokens = np.asarray(base.window_tokens)[picks].sum(axis=1)

    def mean(n):
        return np.asarray(n.window_nll)[picks].sum(axis=1) / tokens

    # paired: one resampling of the windows for both sides of the ratio
    low, high = interval(np.exp(mean(ablated) - mean(base)))
    assert (metrics["ratio_lo"], metrics["ratio_hi"]) == pytest.approx((low, high), rel=1e-9)
    assert metrics["ratio_lo"] < metrics["ratio_hi"]
