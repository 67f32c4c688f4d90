"""The downstream kind: lm-eval scores its forwards with the ablated language's neurons zeroed."""

import pytest
import torch

from langneurons.models.handle import load_model, resolve_model
from langneurons.neurons.controls import matched_random
from langneurons.neurons.neuron_set import load
from langneurons.tasks.context import RunContext, Timings
from langneurons.tasks.protocol import KINDS
from langneurons.tasks.spec import load_task
from tests.synthetic import tiny_neuron_set

pytest.importorskip("lm_eval")


def test_each_condition_runs_lm_evals_forwards_under_its_own_intervention(
    tiny_model_folder, tmp_path
):
    (tmp_path / "downstream.yaml").write_text(
        "name: downstream\nkind: downstream\nversion: 1\nlanguages: [en, fr]\n"
        "data: {source: concepts, split: evaluate}\nlimit: 4\n"
        "checks: {min_own_drop: 0.1, max_other_drop: 0.05, max_control_drop: 0.05}\n"
    )
    task = load_task(tmp_path / "downstream.yaml")
    handle = load_model(resolve_model(str(tiny_model_folder)), device="cpu")
    neuron_set = load(tiny_neuron_set(tmp_path, tiny_model_folder))
    context = RunContext(handle, neuron_set, 8, 0, Timings(), statistics=lambda: None)
    evaluate = KINDS.get("downstream").evaluator(task, context)

    seen: list[frozenset[int]] = []  # per forward: layer 1's neurons that were all zero

    def record(module, args):
        silent = (args[0] == 0).flatten(0, -2).all(dim=0)
        seen.append(frozenset(torch.nonzero(silent).flatten().tolist()))

    down = handle.model.model.layers[1].mlp.down_proj
    hook = down.register_forward_pre_hook(record)
    try:
        result = evaluate(
            next(c for c in KINDS.get("downstream").cells(task) if c.id == "ablate[fr]-eval[fr]")
        )
    finally:
        hook.remove()

    fr = set(neuron_set.languages["fr"][1])
    draws = task.fields.control.draws
    controls = [
        set(matched_random(neuron_set, task.fields.control.seed, i).languages["fr"][1])
        for i in range(draws)
    ]
    assert len({frozenset(c) for c in controls}) == draws  # independent draws
    # baseline, then ablated, then each control draw: lm-eval runs of the same forwards each
    runs = 2 + draws
    assert len(seen) % runs == 0 and seen
    size = len(seen) // runs
    assert not any(seen[:size])
    assert all(frozen == fr for frozen in seen[size : 2 * size])
    for i, control in enumerate(controls):
        assert all(frozen == control for frozen in seen[(2 + i) * size : (3 + i) * size])
    assert result.metrics["drop"] == pytest.approx(
        result.metrics["baseline"] - result.metrics["ablated"]
    )
    assert result.metrics["drop_lo"] <= result.metrics["drop_hi"]
