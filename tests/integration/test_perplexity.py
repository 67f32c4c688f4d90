"""Perplexity: the streamed NLL equals cross-entropy over the model's full logits, window by window."""

import math
import types

import pytest
import torch
import torch.nn.functional as F

from langneurons.models import logit_lens
from langneurons.models.architecture import architecture_for
from langneurons.tasks.generation import Generation, continuation_nll, perplexity_of
from langneurons.tasks.perplexity import nll
from langneurons.text.windows import Window
from tests.synthetic import FAMILIES, VOCAB, tiny_model


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def handle(request):
    model = tiny_model(request.param)
    if hasattr(model.config, "final_logit_softcapping"):
        # a cap small enough to change the logits, so that leaving it out would show
        model.config.final_logit_softcapping = 0.5
    return types.SimpleNamespace(model=model, architecture=architecture_for(model))


@pytest.fixture(params=["one slice", "many slices"])
def blocks(request, monkeypatch):
    """The default products, or 256-token vocabulary slices of 3 rows (320 tokens: 2 slices)."""
    if request.param == "many slices":
        monkeypatch.setattr(logit_lens, "_BLOCK_BYTES", 1)
        monkeypatch.setattr(logit_lens, "_ROWS", 3)


def windows() -> list[Window]:
    """Windows of two lengths, out of order, one of them given twice; BOS (id 0) first."""
    generator = torch.Generator().manual_seed(0)
    made = [
        Window((0, *torch.randint(3, VOCAB, (n,), generator=generator).tolist()), 1)
        for n in (8, 5, 8, 8, 5)
    ]
    return [*made, made[1]]


def direct(model, window: Window) -> float:
    """Summed cross-entropy of the window's text tokens over the model's full float32 logits."""
    ids = torch.tensor([window.ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    return F.cross_entropy(logits[:-1], ids[0, 1:], reduction="sum").item()


def test_each_window_is_scored_as_the_full_logits_score_it(handle, blocks):
    items = windows()
    found = nll(handle, items, batch_size=2)
    expected = [direct(handle.model, w) for w in items]
    assert found.window_tokens == tuple(len(w.ids) - 1 for w in items)
    assert found.window_nll == pytest.approx(expected, rel=1e-5, abs=1e-5)
    assert found.tokens == sum(found.window_tokens)
    assert found.total == pytest.approx(sum(found.window_nll), rel=1e-12)
    assert found.perplexity == pytest.approx(math.exp(sum(expected) / found.tokens), rel=1e-5)


def test_continuation_perplexity_scores_only_unmasked_generated_tokens(handle, blocks):
    pad = 2
    # row 0: a left-padded prompt of 2 tokens; row 1 stops after its first generated token
    ids = torch.tensor([[pad, pad, 5, 9, 11, 12, 13, 14], [7, 8, 5, 9, 21, 1, 30, 31]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0]])
    length = 4
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        logits = handle.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    targets = ids[:, length:].masked_fill(mask[:, length:] == 0, -100)
    expected = F.cross_entropy(
        logits[:, length - 1 : -1].float().reshape(-1, logits.shape[-1]), targets.reshape(-1)
    )
    generation = Generation([], [(ids, mask, length)], 0, 0.0)
    nll, tokens = continuation_nll(handle, generation)
    assert tokens.tolist() == [4, 2]  # per prompt, in the prompts' order
    per_token = F.cross_entropy(
        logits[:, length - 1 : -1].float().reshape(-1, logits.shape[-1]),
        targets.reshape(-1),
        reduction="none",
    ).reshape(2, -1)
    assert nll.tolist() == pytest.approx(per_token.sum(1).tolist(), rel=1e-5)
    assert perplexity_of(nll, tokens) == pytest.approx(math.exp(expected.item()), rel=1e-5)
