"""Token energy (Wendler et al. 2024): equal to the notebook's direct formula for every family,
with the final norm's scale folded in as the model applies it."""

import pytest
import torch

from langneurons.errors import UnsupportedModelError
from langneurons.models.architecture import architecture_for, output_head
from langneurons.models.logit_lens import TokenEnergy, decode
from tests.synthetic import FAMILIES, tiny_model


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def model(request):
    """A tiny model whose final-norm weight is random, so that a wrong scale would show."""
    model = tiny_model(request.param)
    norm, _ = output_head(model, architecture_for(model))
    with torch.no_grad():
        norm.weight.copy_(
            0.5 + torch.rand(norm.weight.shape, generator=torch.Generator().manual_seed(1))
        )
    return model


def scaled_unembedding(model) -> torch.Tensor:
    """``U * (weight + norm_offset)`` in float64: the notebook's ``U_weighted``."""
    architecture = architecture_for(model)
    norm, unembed = output_head(model, architecture)
    return unembed.weight.double() * (norm.weight.double() + architecture.norm_offset)


def notebook_energy(model, states: torch.Tensor) -> torch.Tensor:
    """Token energy as ``Translation.ipynb`` computes it (source lines 171-184, 581-601).

    All-zero rows (tied padding embeddings), where the notebook would divide by zero,
    are left out, as :class:`TokenEnergy` documents.
    """
    U_weighted = scaled_unembedding(model)
    U_weighted = U_weighted[U_weighted.abs().sum(dim=1) > 0]
    U_normalized = U_weighted / ((U_weighted**2).sum(dim=1, keepdim=True)) ** 0.5
    v = U_weighted.shape[0]
    avgUU = (((U_normalized.T @ U_normalized) ** 2).sum() / v**2) ** 0.5
    latents_normalized = states.double()
    latents_normalized = latents_normalized / (latents_normalized.norm(dim=-1, keepdim=True))
    norm = ((U_normalized @ latents_normalized.T) ** 2).mean(dim=0) ** 0.5
    return norm / avgUU


def test_token_energy_equals_the_notebook_s_direct_computation(model):
    energy = TokenEnergy.of(model, architecture_for(model))
    states = 3 * torch.randn(
        6, model.config.hidden_size, generator=torch.Generator().manual_seed(2)
    )
    found = energy.energy(states)
    assert found.dtype == torch.float64 and found.shape == (6,)
    torch.testing.assert_close(found, notebook_energy(model, states), rtol=1e-6, atol=0)


def _proportional(found: torch.Tensor, expected: torch.Tensor) -> bool:
    """``found`` is a positive multiple of ``expected``, row by row, to float32 rounding."""
    factor = (found * expected).sum(-1, keepdim=True) / (expected * expected).sum(-1, keepdim=True)
    return bool((factor > 0).all()) and torch.allclose(
        found, factor * expected, rtol=1e-4, atol=1e-5
    )


def test_the_folded_scale_is_the_one_the_model_s_rms_norm_applies(model):
    architecture = architecture_for(model)
    norm, unembed = output_head(model, architecture)
    if not type(norm).__name__.endswith("RMSNorm"):
        pytest.skip(
            "LayerNorm: its centring and bias are not folded, so logits are not proportional"
        )
    if hasattr(model.config, "final_logit_softcapping"):
        model.config.final_logit_softcapping = None  # the cap would bend the proportionality
    states = torch.randn(4, model.config.hidden_size, generator=torch.Generator().manual_seed(3))
    logits = decode(model, architecture, states).double()
    assert _proportional(logits, states.double() @ scaled_unembedding(model).T)
    # the other offset (Gemma's 1 + weight for a plain RMSNorm, or the reverse) is wrong
    wrong = unembed.weight.double() * (norm.weight.double() + 1 - architecture.norm_offset)
    assert not _proportional(logits, states.double() @ wrong.T)


def test_energy_is_scale_invariant_and_right_along_a_token_s_direction(model):
    energy = TokenEnergy.of(model, architecture_for(model))
    states = torch.randn(3, model.config.hidden_size, generator=torch.Generator().manual_seed(4))
    for factor in (1e-3, 7.0):
        torch.testing.assert_close(energy.energy(factor * states), energy.energy(states))
    row = scaled_unembedding(model)[5]
    along = (4.0 * row / row.norm()).float().unsqueeze(0)
    torch.testing.assert_close(
        energy.energy(along), notebook_energy(model, along), rtol=1e-6, atol=0
    )


def test_a_final_norm_without_a_weight_is_refused():
    model = tiny_model("llama")
    model.model.norm = torch.nn.LayerNorm(model.config.hidden_size, elementwise_affine=False)
    with pytest.raises(UnsupportedModelError, match="token energy"):
        TokenEnergy.of(model, architecture_for(model))
