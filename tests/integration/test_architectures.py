"""Every supported family on a tiny random-init model: sites, ablation, exact restore."""

import pytest
import torch

from langneurons.errors import ConfigError, UnsupportedModelError
from langneurons.models.architecture import ARCHITECTURES, architecture_for, neuron_sites
from langneurons.models.interventions import ablate
from tests.synthetic import FAMILIES, tiny_model

IDS = torch.tensor([[0, 5, 17, 42, 99, 7, 250, 3]])


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_model(request):
    return request.param, tiny_model(request.param)


def logits(model):
    with torch.no_grad():
        return model(input_ids=IDS).logits


def test_every_issue_family_has_an_adapter():
    import langneurons.models.adapters  # noqa: F401

    families = {ARCHITECTURES.get(name).family for name in ARCHITECTURES.names()}
    assert families == set(FAMILIES)


def test_site_fires_on_every_layer_with_the_declared_width(family_model):
    family, model = family_model
    architecture = architecture_for(model)
    assert architecture.family == family
    sites = neuron_sites(model, architecture)
    assert len(sites) == model.config.num_hidden_layers
    shapes = {}

    def recorder(layer):
        def hook(module, inputs, output):
            shapes[layer] = output.shape

        return hook

    handles = [site.register_forward_hook(recorder(layer)) for layer, site in enumerate(sites)]
    try:
        logits(model)
    finally:
        for handle in handles:
            handle.remove()
    width = architecture.width(model.config)
    assert sorted(shapes) == list(range(len(sites)))
    for shape in shapes.values():  # OPT flattens batch and positions before fc1
        assert shape[-1] == width
        assert shape.numel() == IDS.numel() * width


def test_zeroing_one_neuron_changes_logits_and_exit_restores_them_exactly(family_model):
    _, model = family_model
    before = logits(model)
    with ablate(model, {1: [3]}):
        during = logits(model)
    after = logits(model)
    assert not torch.equal(before, during)
    assert torch.equal(before, after)
    assert all(not site._forward_hooks for site in neuron_sites(model, architecture_for(model)))


def test_zeroing_at_the_site_equals_zeroing_the_down_projection_input(family_model):
    family, model = family_model
    down = model.get_submodule(FAMILIES[family][2].format(i=0))
    neurons = [0, 5, 7]

    def zero_input(module, args):
        x = args[0].clone()
        x[..., neurons] = 0
        return (x,)

    handle = down.register_forward_pre_hook(zero_input)
    try:
        expected = logits(model)
    finally:
        handle.remove()
    with ablate(model, {0: neurons}):
        got = logits(model)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_hooks_are_removed_when_the_block_raises(family_model):
    _, model = family_model
    before = logits(model)
    with pytest.raises(RuntimeError, match="boom"), ablate(model, {0: [1], 1: [2]}):
        raise RuntimeError("boom")
    assert all(not site._forward_hooks for site in neuron_sites(model, architecture_for(model)))
    assert torch.equal(before, logits(model))


def test_nested_ablations_compose_and_unwind():
    model = tiny_model("llama")
    with ablate(model, {0: [1]}):
        outer = logits(model)
        with ablate(model, {1: [2]}):
            both = logits(model)
        assert torch.equal(outer, logits(model))
    with ablate(model, {0: [1], 1: [2]}):
        assert torch.equal(both, logits(model))


def test_out_of_range_neuron_fails_before_any_hook_is_attached():
    model = tiny_model("llama")
    with (
        pytest.raises(ConfigError, match="neuron 24 in layer 1 is out of range"),
        ablate(model, {0: [1], 1: [24]}),
    ):
        pass
    assert all(not site._forward_hooks for site in neuron_sites(model, architecture_for(model)))
    with pytest.raises(ConfigError, match="layer 2 is out of range"), ablate(model, {2: [0]}):
        pass


def test_unsupported_architecture_names_the_supported_ones():
    from transformers import T5Config, T5ForConditionalGeneration

    model = T5ForConditionalGeneration(
        T5Config(d_model=8, d_ff=8, num_layers=1, num_heads=1, d_kv=4, vocab_size=32)
    )
    with pytest.raises(
        UnsupportedModelError,
        match="unsupported architecture 'T5ForConditionalGeneration'; supported: .*LlamaForCausalLM",
    ):
        architecture_for(model)


def test_ablation_from_a_start_position_leaves_earlier_positions_untouched(family_model):
    family, model = family_model
    down = model.get_submodule(FAMILIES[family][2].format(i=1))
    neurons = [2, 4]

    def zero_input_after_bos(module, args):
        x = args[0].clone()
        flat = x.reshape(-1, IDS.shape[1], x.shape[-1])  # OPT flattens positions
        flat[:, 1:, neurons] = 0
        return (flat.reshape(x.shape),)

    handle = down.register_forward_pre_hook(zero_input_after_bos)
    try:
        expected = logits(model)
    finally:
        handle.remove()
    before = logits(model)
    with ablate(model, {1: neurons}, start=1):
        got = logits(model)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(got[:, 0], before[:, 0])
    assert not torch.equal(got[:, 1:], before[:, 1:])
    assert not model._forward_pre_hooks
