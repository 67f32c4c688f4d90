"""The logit lens: at the last layer it is the model's own output, for every family; the
streamed readout equals a float64 reference over the decoded logits."""

import pytest
import torch

from langneurons.models import logit_lens
from langneurons.models.architecture import architecture_for
from langneurons.models.logit_lens import decode, final_states, last_position_states, readout
from tests.synthetic import FAMILIES, tiny_model

IDS = torch.tensor([[0, 5, 17, 42, 99, 7, 250, 3], [1, 9, 8, 7, 6, 5, 4, 2]])


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def model(request):
    model = tiny_model(request.param)
    if hasattr(model.config, "final_logit_softcapping"):
        # a cap small enough to change the logits, so that leaving it out would show
        model.config.final_logit_softcapping = 0.5
    return model


def test_lens_at_the_last_layer_equals_the_model_logits(model):
    architecture = architecture_for(model)
    layers = list(range(model.config.num_hidden_layers))
    states = last_position_states(model, architecture, {"input_ids": IDS}, layers)
    assert states.shape == (2, len(layers), model.config.hidden_size)
    with torch.no_grad():
        logits = model(input_ids=IDS).logits[:, -1]
    lens = decode(model, architecture, states[:, -1])
    torch.testing.assert_close(lens, logits.float(), rtol=1e-5, atol=1e-5)


def test_earlier_layers_decode_to_other_distributions(model):
    architecture = architecture_for(model)
    states = last_position_states(model, architecture, {"input_ids": IDS}, [0, 1])
    first, last = (
        decode(model, architecture, states[:, 0]),
        decode(model, architecture, states[:, 1]),
    )
    assert not torch.allclose(first, last)


def test_soft_capping_is_applied_where_the_family_declares_it(model):
    architecture = architecture_for(model)
    if architecture.logit_softcap is None:
        pytest.skip("the family does not cap its logits")
    states = last_position_states(model, architecture, {"input_ids": IDS}, [1])
    assert decode(model, architecture, states[:, 0]).abs().max() <= 0.5


def test_only_the_requested_layers_are_kept_and_hooks_are_removed(model):
    architecture = architecture_for(model)
    states = last_position_states(model, architecture, {"input_ids": IDS}, [1])
    assert states.shape[1] == 1
    for module in model.modules():
        assert not module._forward_hooks


@pytest.fixture(params=["one slice", "many slices"])
def blocks(request, monkeypatch):
    """The default products, or 256-token vocabulary slices of 3 rows (320 tokens: 2 slices)."""
    if request.param == "many slices":
        monkeypatch.setattr(logit_lens, "_BLOCK_BYTES", 1)
        monkeypatch.setattr(logit_lens, "_ROWS", 3)


def test_the_readout_equals_a_float64_reference_over_the_decoded_logits(model, blocks):
    architecture = architecture_for(model)
    layers = list(range(model.config.num_hidden_layers))
    states = last_position_states(model, architecture, {"input_ids": IDS}, layers).flatten(0, 1)
    chosen = torch.randint(0, model.config.vocab_size, (states.shape[0], 3))
    found = readout(model, architecture, states, chosen, top_and_entropy=True)
    logits = decode(model, architecture, states).double()
    log_probs = logits.log_softmax(-1)
    assert torch.equal(found.top, logits.argmax(-1))
    torch.testing.assert_close(found.logsumexp, logits.logsumexp(-1), rtol=0, atol=1e-6)
    torch.testing.assert_close(
        (found.chosen.double() - found.logsumexp.unsqueeze(1)).exp(),
        log_probs.gather(1, chosen).exp(),
        rtol=0,
        atol=1e-6,
    )
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    torch.testing.assert_close(found.entropy, entropy, rtol=0, atol=1e-5)
    if architecture.logit_softcap is not None:
        assert found.chosen.abs().max() <= 0.5


def test_final_states_are_what_the_model_s_head_reads(model, blocks):
    architecture = architecture_for(model)
    states = final_states(model, architecture, {"input_ids": IDS}).flatten(0, 1)
    with torch.no_grad():
        logits = model(input_ids=IDS).logits.flatten(0, 1).double()
    ids = IDS.flatten().unsqueeze(1)
    found = readout(model, architecture, states, ids, normed=True)
    torch.testing.assert_close(found.logsumexp, logits.logsumexp(-1), rtol=0, atol=1e-5)
    torch.testing.assert_close(found.chosen.double(), logits.gather(1, ids), rtol=0, atol=1e-5)
