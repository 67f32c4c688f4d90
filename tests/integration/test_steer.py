"""steer(): values applied as declared, only the named neurons change, exact restore."""

import pytest
import torch

from langneurons.errors import ConfigError
from langneurons.models.architecture import architecture_for, neuron_sites
from langneurons.models.hooks import attached
from langneurons.models.interventions import _first_position, steer
from tests.synthetic import FAMILIES, tiny_model

IDS = torch.tensor([[0, 5, 17, 42, 99, 7, 250, 3], [1, 9, 8, 7, 6, 5, 4, 2]])
ACTIVATE = {0: [1, 3], 1: [0]}
VALUES = {0: [2.5, -1.0], 1: [0.75]}
DEACTIVATE = {0: [2, 3], 1: [4]}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def model(request):
    return tiny_model(request.param)


def site_outputs(model):
    """Each layer's site output as [batch, positions, neurons], after any steering hook."""
    sites = neuron_sites(model, architecture_for(model))
    seen = {}

    def recorder(layer):
        def hook(module, inputs, output):
            seen[layer] = output.detach().reshape(IDS.shape[0], IDS.shape[1], -1).clone()

        return hook

    with attached([(site, recorder(i)) for i, site in enumerate(sites)]), torch.no_grad():
        logits = model(input_ids=IDS).logits
    return seen, logits


def test_values_are_set_zeroed_neurons_are_zero_and_nothing_else_changes_in_layer_0(model):
    plain, _ = site_outputs(model)
    with steer(model, ACTIVATE, VALUES, DEACTIVATE):
        steered, _ = site_outputs(model)
    layer0 = steered[0]
    assert torch.equal(layer0[..., 1], torch.full_like(layer0[..., 1], 2.5))
    # neuron 3 is in both maps: activation wins
    assert torch.equal(layer0[..., 3], torch.full_like(layer0[..., 3], -1.0))
    assert torch.equal(layer0[..., 2], torch.zeros_like(layer0[..., 2]))
    untouched = [n for n in range(layer0.shape[-1]) if n not in (1, 2, 3)]
    assert torch.equal(layer0[..., untouched], plain[0][..., untouched])


def test_later_layers_get_their_values(model):
    with steer(model, ACTIVATE, VALUES, DEACTIVATE):
        steered, _ = site_outputs(model)
    assert torch.equal(steered[1][..., 0], torch.full_like(steered[1][..., 0], 0.75))
    assert torch.equal(steered[1][..., 4], torch.zeros_like(steered[1][..., 4]))


def test_hooks_are_removed_on_exit_and_on_exceptions(model):
    _, before = site_outputs(model)
    with steer(model, ACTIVATE, VALUES, DEACTIVATE):
        _, during = site_outputs(model)
    assert not torch.equal(before, during)
    with pytest.raises(RuntimeError), steer(model, ACTIVATE, VALUES, DEACTIVATE):
        raise RuntimeError("inside the block")
    _, after = site_outputs(model)
    assert torch.equal(before, after)


def test_positions_before_start_keep_their_activations(model):
    plain, _ = site_outputs(model)
    with steer(model, ACTIVATE, VALUES, DEACTIVATE, start=5):
        steered, _ = site_outputs(model)
    assert torch.equal(steered[0][:, :5], plain[0][:, :5])
    assert torch.equal(steered[0][:, 5:, 1], torch.full_like(steered[0][:, 5:, 1], 2.5))


def test_generated_positions_only_with_a_key_value_cache():
    model = tiny_model("llama")
    prompt = IDS[:, :5]
    with torch.no_grad():
        plain = model.generate(prompt, max_new_tokens=4, do_sample=False, pad_token_id=0)
        with steer(model, {0: [1]}, {0: [50.0]}, start=5):
            late = model.generate(prompt, max_new_tokens=4, do_sample=False, pad_token_id=0)
            first_logits = model(input_ids=prompt).logits
        reference_logits = model(input_ids=prompt).logits
    # the prompt pass is untouched, so the first generated token is the same
    assert torch.equal(first_logits, reference_logits)
    assert torch.equal(late[:, 5], plain[:, 5])
    assert not torch.equal(late, plain)


LEFT_PADDED = torch.tensor([[0, 0, 5, 17, 42, 99], [1, 9, 8, 7, 6, 5]])
LEFT_MASK = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])


def _generate(model, use_cache):
    with torch.no_grad():
        out = model.generate(
            LEFT_PADDED,
            attention_mask=LEFT_MASK,
            max_new_tokens=4,
            do_sample=False,
            pad_token_id=0,
            use_cache=use_cache,
            output_scores=True,
            return_dict_in_generate=True,
        )
    return out.sequences, torch.stack(out.scores)


def test_start_under_generate_with_a_cache_batched_and_left_padded(model):
    """Steering generated positions only: with a key-value cache as without one.

    Without a cache every step feeds the whole sequence from position 0, so the
    positions at and after ``start`` are known exactly; with a cache the hook must
    derive them from what the forward is given (a regression: transformers 5.24
    renamed the cache argument, and steering from ``start`` changed nothing).
    """
    start = LEFT_PADDED.shape[1]
    plain, _ = _generate(model, use_cache=True)
    with steer(model, ACTIVATE, {0: [40.0, -40.0], 1: [40.0]}, DEACTIVATE, start=start):
        cached, cached_scores = _generate(model, use_cache=True)
        uncached, uncached_scores = _generate(model, use_cache=False)
    # the prompt pass is untouched, so each row's first generated token is the plain one
    assert torch.equal(cached[:, start], plain[:, start])
    assert not torch.equal(cached_scores[1:], _generate(model, use_cache=True)[1][1:])
    assert torch.allclose(cached_scores, uncached_scores, atol=1e-4, rtol=1e-4)
    assert torch.equal(cached, uncached)


def test_mismatched_values_and_bad_indices_fail_before_any_hook():
    model = tiny_model("llama")
    with (
        pytest.raises(ConfigError, match="2 neurons to activate but 1 values"),
        steer(model, {0: [1, 2]}, {0: [1.0]}),
    ):
        pass
    with pytest.raises(ConfigError, match="out of range"), steer(model, {0: [10**6]}, {0: [1.0]}):
        pass
    assert all(not site._forward_hooks for site in neuron_sites(model, architecture_for(model)))


class _Cache:
    def get_seq_length(self):
        return 7


@pytest.mark.parametrize(
    ("kwargs", "first"),
    [
        ({"cache_position": torch.tensor([5, 6])}, 5),
        ({"attention_mask": torch.tensor([[0, 0, 1, 1, 1, 1, 1], [1] * 7])}, 5),
        ({"position_ids": torch.tensor([[3, 4], [5, 6]])}, 5),  # the unpadded row counts
        ({"past_key_values": _Cache()}, 7),
        ({"cache": _Cache()}, 7),
        ({}, 0),
    ],
    ids=["cache_position", "mask", "position_ids", "past_key_values", "cache", "none"],
)
def test_the_first_position_from_each_interface_a_forward_may_get(kwargs, first):
    assert _first_position({"input_ids": torch.zeros(2, 2), **kwargs}, length=2) == first
