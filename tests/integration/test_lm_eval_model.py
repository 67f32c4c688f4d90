"""The lm-eval model `langneurons`: lm-eval's hf model exactly, until neurons are ablated or steered."""

import dataclasses
import json

import pytest
import torch

from langneurons.errors import ConfigError, FormatError
from langneurons.models.interventions import steer
from langneurons.neurons.statistics import save
from langneurons.tasks.lm_eval_tasks import items, write_tasks

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from langneurons.tasks.lm_eval_model import InterventionLM  # noqa: E402
from tests.synthetic import synthetic_stats, tiny_neuron_set  # noqa: E402

IDS = torch.tensor([[0, 5, 17, 42, 99, 7, 250, 3]])


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lm_eval_tasks")
    names = write_tasks(folder, ["en", "fr"])  # before the manager indexes the folder
    return TaskManager(include_path=str(folder)), names


def scores(lm, tasks):
    manager, names = tasks
    out = lm_eval.simple_evaluate(model=lm, tasks=names, task_manager=manager, limit=24)
    return {name: (r["acc,none"], r["acc_stderr,none"]) for name, r in out["results"].items()}


def test_with_nothing_ablated_the_numbers_equal_lm_evals_hf_model(tiny_model_folder, tasks):
    plain = scores(HFLM(pretrained=str(tiny_model_folder), device="cpu", batch_size=8), tasks)
    ours = scores(
        InterventionLM(pretrained=str(tiny_model_folder), device="cpu", batch_size=8), tasks
    )
    assert ours == plain
    assert set(plain) == {"langneurons_concepts_en", "langneurons_concepts_fr"}


def test_ablation_changes_the_logits_only_during_the_call(tiny_model_folder, tmp_path):
    neurons = tiny_neuron_set(tmp_path, tiny_model_folder)
    plain = InterventionLM(pretrained=str(tiny_model_folder), device="cpu")
    ablated = InterventionLM(
        pretrained=str(tiny_model_folder), device="cpu", neurons=str(neurons), ablate="zh+fr"
    )
    assert ablated.zeroed == {1: [4, 5, 6, 7]}
    before = plain._model_call(IDS)
    assert not torch.allclose(ablated._model_call(IDS), before)
    assert torch.equal(ablated.model(IDS).logits, before)  # no hook left behind


def test_the_control_zeroes_other_neurons_of_the_same_count(tiny_model_folder, tmp_path):
    neurons = tiny_neuron_set(tmp_path, tiny_model_folder)
    control = InterventionLM(
        pretrained=str(tiny_model_folder),
        device="cpu",
        neurons=str(neurons),
        ablate="zh",
        control_seed=0,
    )
    assert [len(v) for v in control.zeroed.values()] == [2]
    assert control.zeroed != {1: [6, 7]}


def tiny_stats(path, width=24):
    """Statistics for the tiny llama model whose mean activations are all different."""
    languages = ["en", "de", "fr", "zh"]
    stats = synthetic_stats(torch.ones(4, 2, width), [10, 10, 10, 10], languages)
    sums = torch.arange(4 * 2 * width, dtype=torch.float64).reshape(4, 2, width) / 7
    save(dataclasses.replace(stats, sums=sums), path)
    return path


def test_steering_is_the_steering_tasks_intervention_during_the_call(tiny_model_folder, tmp_path):
    neurons = tiny_neuron_set(tmp_path, tiny_model_folder)
    stats = tiny_stats(tmp_path / "stats.safetensors")
    lm = InterventionLM(
        pretrained=str(tiny_model_folder),
        device="cpu",
        neurons=str(neurons),
        ablate="en",
        steer="zh",
        stats=str(stats),
        value="2*mean",
    )
    zh = 3 * 2 * 24 + 24  # index of (zh, layer 1, neuron 0) in the flattened sums
    assert lm.activated == {1: [6, 7]}
    assert lm.values == {1: [2 * (zh + 6) / 7 / 10, 2 * (zh + 7) / 7 / 10]}
    assert lm.zeroed == {1: [0, 1]}
    before = lm.model(IDS).logits
    with steer(lm.model, lm.activated, lm.values, lm.zeroed, lm.architecture):
        expected = lm.model(IDS).logits
    assert not torch.allclose(expected, before)
    assert torch.equal(lm._model_call(IDS), expected)
    assert torch.equal(lm.model(IDS).logits, before)  # no hook left behind


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"ablate": "zh"}, "need neurons="),
        ({"ablate": "sw", "neurons": True}, "has no language 'sw'"),
        ({"steer": "sw", "neurons": True, "stats": True}, "has no language 'sw'"),
        ({"steer": "zh", "neurons": True}, "steer= needs stats="),
        ({"steer": "zh+fr", "neurons": True, "stats": True}, "name one target language"),
        ({"steer": "zh", "neurons": True, "stats": "wide"}, "for 2 layers x 32 neurons"),
        ({"steer": "zh", "neurons": True, "stats": True, "value": "max"}, "steering value"),
    ],
)
def test_bad_arguments_are_named(tiny_model_folder, tmp_path, arguments, message):
    if arguments.get("neurons"):
        arguments["neurons"] = str(tiny_neuron_set(tmp_path, tiny_model_folder))
    if arguments.get("stats"):
        width = 32 if arguments["stats"] == "wide" else 24
        arguments["stats"] = str(tiny_stats(tmp_path / "stats.safetensors", width))
    with pytest.raises(ConfigError, match=message):
        InterventionLM(pretrained=str(tiny_model_folder), device="cpu", **arguments)


def test_a_missing_statistics_file_is_named(tiny_model_folder, tmp_path):
    neurons = tiny_neuron_set(tmp_path, tiny_model_folder)
    with pytest.raises(FormatError, match="do not exist"):
        InterventionLM(
            pretrained=str(tiny_model_folder),
            device="cpu",
            neurons=str(neurons),
            steer="zh",
            stats=str(tmp_path / "none.safetensors"),
        )


def test_a_set_for_a_bigger_model_is_refused(tiny_model_folder, tmp_path):
    path = tiny_neuron_set(tmp_path, tiny_model_folder)
    data = json.loads(path.read_text())
    data["model"]["neurons_per_layer"] = 4096
    data["languages"]["zh"] = {"1": [4000]}
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="does not fit"):
        InterventionLM(
            pretrained=str(tiny_model_folder), device="cpu", neurons=str(path), ablate="zh"
        )


def test_choice_items_hold_the_answer_once_among_four_words():
    found = items("fr")
    assert len(found) >= 100
    first = found[0]
    assert first["question"].endswith("Réponse :")
    assert len(set(first["choices"])) == 4
    assert first["choices"][first["label"]] == "nuage"
    assert items("fr") == found
