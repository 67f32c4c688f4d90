"""The lm-eval model `langneurons`: lm-eval's hf model exactly, until neurons are ablated."""

import json

import pytest
import torch

from langneurons.choice_task import items, write_tasks
from langneurons.errors import ConfigError

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from langneurons.lm_eval_model import InterventionLM  # noqa: E402
from tests.synthetic import tiny_neuron_set  # noqa: E402

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
    assert ablated.neurons == {1: [4, 5, 6, 7]}
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
    assert [len(v) for v in control.neurons.values()] == [2]
    assert control.neurons != {1: [6, 7]}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"ablate": "zh"}, "ablate= needs neurons="),
        ({"ablate": "sw", "neurons": True}, "has no language 'sw'"),
    ],
)
def test_bad_arguments_are_named(tiny_model_folder, tmp_path, arguments, message):
    if arguments.get("neurons"):
        arguments["neurons"] = str(tiny_neuron_set(tmp_path, tiny_model_folder))
    with pytest.raises(ConfigError, match=message):
        InterventionLM(pretrained=str(tiny_model_folder), device="cpu", **arguments)


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
