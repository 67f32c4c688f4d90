"""The lm-eval model `langneurons`: lm-eval's hf model exactly, until neurons are ablated or steered."""

import dataclasses
import json

import pytest
import torch

from langneurons.errors import ConfigError, FormatError
from langneurons.models.architecture import architecture_for
from langneurons.models.hooks import attached
from langneurons.models.interventions import steer
from langneurons.neurons.statistics import save
from langneurons.tasks.lm_eval_tasks import items, write_tasks

lm_eval = pytest.importorskip("lm_eval")
from lm_eval.models.huggingface import HFLM  # noqa: E402
from lm_eval.tasks import TaskManager  # noqa: E402

from langneurons.tasks.lm_eval_model import InterventionLM  # noqa: E402
from tests.synthetic import save_tiny_model, synthetic_stats, tiny_neuron_set  # noqa: E402

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
    with pytest.raises(ConfigError, match="neuron 4000 in layer 1 is out of range"):
        InterventionLM(
            pretrained=str(tiny_model_folder), device="cpu", neurons=str(path), ablate="zh"
        )


REQUESTS = [("The sky is", " blue"), ("Le ciel est", " bleu"), ("Two plus two is", " four")]
ZH = {1: [4, 5]}  # two conditions that change the tiny model's log-likelihoods differently
STEER = {1: {6: 3.0, 7: -2.0}}


def loglikelihoods(lm):
    from lm_eval.api.instance import Instance

    requests = [
        Instance("loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(REQUESTS)
    ]
    return lm.loglikelihood(requests, disable_tqdm=True)


def hooks_left(model):
    return [
        name
        for name, module in model.named_modules()
        if module._forward_hooks or module._forward_pre_hooks
    ]


@pytest.fixture
def plain_lm(tiny_model_folder):
    return InterventionLM(pretrained=str(tiny_model_folder), device="cpu")


def test_a_condition_ends_with_its_block_on_exit_and_on_exception(plain_lm):
    plain = loglikelihoods(plain_lm)
    with plain_lm.intervening(zero=ZH, steer=STEER):
        changed = loglikelihoods(plain_lm)
    assert changed != plain
    assert hooks_left(plain_lm.model) == []
    assert loglikelihoods(plain_lm) == plain

    with pytest.raises(RuntimeError, match="inside"), plain_lm.intervening(zero=ZH):
        assert loglikelihoods(plain_lm) != plain
        raise RuntimeError("inside the block")
    assert hooks_left(plain_lm.model) == []
    assert loglikelihoods(plain_lm) == plain


def test_consecutive_conditions_each_give_what_they_give_alone(tiny_model_folder, plain_lm):
    def alone(**condition):
        lm = InterventionLM(pretrained=str(tiny_model_folder), device="cpu")
        with lm.intervening(**condition):
            return loglikelihoods(lm)

    with plain_lm.intervening(zero=ZH):
        first = loglikelihoods(plain_lm)
    with plain_lm.intervening(steer=STEER):
        second = loglikelihoods(plain_lm)
    assert first == alone(zero=ZH)
    assert second == alone(steer=STEER)
    assert first != second


def test_a_nested_condition_replaces_the_outer_one_and_gives_it_back(plain_lm):
    with plain_lm.intervening(zero=ZH):
        outer = loglikelihoods(plain_lm)
        with plain_lm.intervening(steer=STEER):
            inner = loglikelihoods(plain_lm)
        assert loglikelihoods(plain_lm) == outer
    with plain_lm.intervening(steer=STEER):
        assert inner == loglikelihoods(plain_lm)


def test_a_block_replaces_the_condition_of_the_model_arguments(tiny_model_folder, tmp_path):
    neurons = tiny_neuron_set(tmp_path, tiny_model_folder)
    ablated = InterventionLM(
        pretrained=str(tiny_model_folder), device="cpu", neurons=str(neurons), ablate="zh+fr"
    )
    plain = InterventionLM(pretrained=str(tiny_model_folder), device="cpu")
    by_arguments = loglikelihoods(ablated)
    with ablated.intervening():
        assert loglikelihoods(ablated) == loglikelihoods(plain)
    assert loglikelihoods(ablated) == by_arguments
    with plain.intervening(zero=ablated.zeroed):
        assert loglikelihoods(plain) == by_arguments


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"zero": {2: [0]}}, "the neurons to zero on .*: layer 2 is out of range"),
        ({"steer": {1: {24: 1.0}}}, "the neurons to steer on .*: neuron 24 in layer 1 is out"),
    ],
)
def test_a_condition_that_does_not_fit_fails_on_entry(plain_lm, condition, message):
    entered = False
    with pytest.raises(ConfigError, match=message), plain_lm.intervening(**condition):
        entered = True
    assert not entered
    assert plain_lm._model_call(IDS).equal(plain_lm.model(IDS).logits)


def test_choice_items_hold_the_answer_once_among_four_words():
    found = items("fr")
    assert len(found) >= 100
    first = found[0]
    assert first["question"].endswith("Réponse :")
    assert len(set(first["choices"])) == 4
    assert first["choices"][first["label"]] == "nuage"
    assert items("fr") == found


#: token-level requests, 3 to 14 tokens, cut to max_length 12 from the left: multi-token
#: continuations, rows ending in 0 (the id lm-eval pads with), one row split two ways,
#: and one-token continuations of one context (lm-eval's logits cache)
TOKEN_REQUESTS = [
    ([11, 12, 13, 14, 15, 16, 17, 18, 19, 20], [21, 22, 23, 24]),
    ([5, 17, 42], [99, 7, 250]),
    ([5, 17], [42, 99, 7, 250]),
    ([30, 31, 32, 33], [34]),
    ([30, 31, 32, 33], [35]),
    ([30, 31, 32, 33], [0]),
    ([8, 0], [0]),
    ([3], [0, 0]),
]


def greedy(model, context, count):
    """The ``count`` tokens greedy decoding gives after ``context``."""
    ids = torch.tensor([context])
    with torch.no_grad():
        for _ in range(count):
            ids = torch.cat([ids, model(ids).logits[:, -1:].argmax(-1)], dim=1)
    return ids[0, len(context) :].tolist()


@pytest.mark.parametrize("family", ["llama", "gemma2", "gpt2"])
@pytest.mark.parametrize("condition", [{}, {"zero": ZH, "steer": STEER}], ids=["plain", "steered"])
def test_loglikelihoods_with_the_head_on_the_positions_read_equal_hflms(
    tmp_path, family, condition
):
    folder = save_tiny_model(tmp_path / family, family)
    options = {"device": "cpu", "batch_size": 3, "max_length": 12}
    lm = InterventionLM(pretrained=str(folder), **options)
    reference = HFLM(pretrained=str(folder), **options)
    zeroed, steered = condition.get("zero", {}), condition.get("steer", {})
    activated = {layer: list(chosen) for layer, chosen in steered.items()}
    values = {layer: list(chosen.values()) for layer, chosen in steered.items()}
    with steer(reference.model, activated, values, zeroed, architecture_for(reference.model)):
        pairs = [*TOKEN_REQUESTS, ([9, 10, 11], greedy(reference.model, [9, 10, 11], 3))]
        requests = [(None, context, continuation) for context, continuation in pairs]
        expected = reference._loglikelihood_tokens(requests, disable_tqdm=True)
    shapes = []

    def record(module, args, output):
        shapes.append((args[0].shape[1], output.logits.shape[1]))

    with attached([(lm.model, record)]), lm.intervening(**condition):
        ours = lm._loglikelihood_tokens(requests, disable_tqdm=True)
    assert ours == expected  # exactly: the same products, on fewer positions
    assert {is_greedy for _, is_greedy in expected} == {True, False}
    assert any(kept < width for width, kept in shapes)
    # outside a loglikelihood call, every position
    assert lm._model_call(IDS).shape[1] == IDS.shape[1]


def tiny_vector_set(folder, model_folder):
    """A vector set for the tiny llama model: one direction per language at layer 1."""
    from langneurons.neurons import vector_set
    from langneurons.neurons.sets import load

    neurons = json.loads(tiny_neuron_set(folder, model_folder).read_text())
    hidden = InterventionLM(pretrained=str(model_folder), device="cpu").model.config.hidden_size
    data = {
        **{k: neurons[k] for k in ("model", "statistics")},
        "format": vector_set.FORMAT,
        "site": "model.layers.{i}",
        "hidden_size": hidden,
        "method": {"name": "handmade", "params": {}},
        "languages": {
            lang: {"1": [float((i + k) % 3 - 1) for i in range(hidden)]}
            for k, lang in enumerate(["en", "de"])
        },
    }
    path = folder / "vectors.json"
    path.write_text(json.dumps(data))
    return path, load(path)


def test_a_vector_set_projects_its_language_out_during_the_call(tiny_model_folder, tmp_path):
    from langneurons.models.interventions import project_out

    path, chosen = tiny_vector_set(tmp_path, tiny_model_folder)
    plain = InterventionLM(pretrained=str(tiny_model_folder), device="cpu")
    ablated = InterventionLM(
        pretrained=str(tiny_model_folder), device="cpu", neurons=str(path), ablate="de"
    )
    assert ablated.projected == {1: list(chosen.languages["de"][1])}
    expected_model = plain.model
    with torch.no_grad(), project_out(expected_model, chosen.languages["de"]):
        expected = expected_model(input_ids=IDS).logits
    assert torch.equal(ablated._model_call(IDS), expected)
    assert not torch.equal(ablated._model_call(IDS), plain._model_call(IDS))
    with plain.intervening(project=chosen.languages["de"]):
        assert torch.equal(plain._model_call(IDS), expected)
    for name, layer in ablated.model.named_modules():
        assert not layer._forward_hooks, name
    with pytest.raises(ConfigError, match="a vector set takes ablate=<one language>"):
        InterventionLM(
            pretrained=str(tiny_model_folder), device="cpu", neurons=str(path), steer="en"
        )
