"""Residual-stream interventions on every supported family: exactly the change asked for, and clean exits."""

import pytest
import torch

from langneurons.errors import ConfigError
from langneurons.models.architecture import architecture_for, decoder_layers, hidden_size
from langneurons.models.interventions import add_to_residual, project_out
from tests.synthetic import FAMILIES, tiny_model

IDS = torch.tensor([[0, 5, 17, 42, 99, 7, 250, 3], [1, 8, 2, 60, 31, 4, 9, 11]])
LAYER = 1


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_model(request):
    return tiny_model(request.param)


def run(model, layer=LAYER):
    """Logits, and the residual stream after ``layer`` as every later hook sees it."""
    seen = {}

    def record(module, inputs, output):
        seen["hidden"] = (output[0] if isinstance(output, tuple) else output).clone()

    handle = decoder_layers(model, architecture_for(model))[layer].register_forward_hook(record)
    try:
        with torch.no_grad():
            logits = model(input_ids=IDS).logits
    finally:
        handle.remove()
    return logits, seen["hidden"]


def no_hooks(model):
    layers = decoder_layers(model, architecture_for(model))
    return all(not layer._forward_hooks for layer in layers) and not model._forward_pre_hooks


def vector(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(hidden_size(model, architecture_for(model)), generator=generator)


def test_adding_a_vector_shifts_the_layer_output_by_it_and_exit_restores_the_model(family_model):
    model = family_model
    before, plain = run(model)
    v = vector(model)
    with add_to_residual(model, {LAYER: v.tolist()}):
        during, shifted = run(model)
    after, _ = run(model)
    torch.testing.assert_close(shifted - plain, v.expand_as(plain), rtol=0, atol=1e-5)
    assert not torch.equal(before, during)
    assert torch.equal(before, after)
    assert no_hooks(model)


def test_projecting_out_leaves_no_component_along_the_vector_and_the_rest_unchanged(family_model):
    model = family_model
    _, plain = run(model)
    v = vector(model, seed=1)
    u = v / v.norm()
    with project_out(model, {LAYER: (3 * v).tolist()}):  # the direction, not the norm, counts
        _, projected = run(model)
    assert (projected @ u).abs().max() < 1e-4
    expected = plain - (plain @ u)[..., None] * u
    torch.testing.assert_close(projected, expected, rtol=1e-5, atol=1e-5)
    assert no_hooks(model)


def test_a_start_position_leaves_the_earlier_positions_alone(family_model):
    model = family_model
    _, plain = run(model)
    v = vector(model, seed=2)
    with add_to_residual(model, {LAYER: v.tolist()}, start=5):
        _, shifted = run(model)
    assert torch.equal(shifted[:, :5], plain[:, :5])
    torch.testing.assert_close(
        shifted[:, 5:] - plain[:, 5:], v.expand_as(plain[:, 5:]), atol=1e-5, rtol=0
    )
    assert no_hooks(model)


def test_an_exception_inside_the_block_removes_the_hooks(family_model):
    model = family_model
    with pytest.raises(RuntimeError, match="inside"):  # noqa: SIM117
        with project_out(model, {LAYER: vector(model).tolist()}, start=2):
            raise RuntimeError("inside")
    assert no_hooks(model)


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        ({99: None}, "layer 99 is out of range"),
        ({LAYER: [1.0, 2.0]}, "a vector of 2 numbers; the hidden size is"),
        ({LAYER: "zero"}, "a zero vector has no direction"),
    ],
)
def test_bad_vectors_fail_before_any_hook_is_attached(vectors, message):
    model = tiny_model("llama")
    width = hidden_size(model, architecture_for(model))
    given = {
        layer: [0.0] * width if v == "zero" else (v if v is not None else [1.0] * width)
        for layer, v in vectors.items()
    }
    with pytest.raises(ConfigError, match=message), project_out(model, given):
        pass
    assert no_hooks(model)
