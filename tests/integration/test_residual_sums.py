"""Residual sums: the streamed pass sums each layer's output over text tokens, and shares add up."""

import pytest
import torch

from langneurons.models.architecture import decoder_layers
from langneurons.models.handle import load_model, resolve_model
from langneurons.neurons import statistics
from langneurons.neurons.collection import collect
from langneurons.neurons.identification import identify
from langneurons.neurons.sharding import Share
from langneurons.text.windows import windows
from tests.synthetic import SAMPLE_TEXT

WINDOW = 24
CORPUS = {lang: [SAMPLE_TEXT[lang]] * 6 for lang in ("en", "de", "zh")}


def kept_sums(handle, paragraphs):
    """[layers, hidden]: each decoder layer's output summed over text tokens (no BOS), float64."""
    layers = decoder_layers(handle.model, handle.architecture)
    sums = torch.zeros(len(layers), handle.model.config.hidden_size, dtype=torch.float64)

    def adder(layer):
        def hook(module, inputs, output):
            hidden = output[0] if isinstance(output, tuple) else output
            sums[layer] += hidden[0, 1:].double().sum(0)

        return hook

    hooks = [module.register_forward_hook(adder(i)) for i, module in enumerate(layers)]
    try:
        with torch.no_grad():
            for w in windows(handle.tokenizer, paragraphs, WINDOW):
                assert w.prefix == 1
                handle.model(input_ids=torch.tensor([w.ids]))
    finally:
        for h in hooks:
            h.remove()
    return sums


@pytest.fixture(scope="module")
def handle(tiny_model_folder):
    return load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")


@pytest.fixture(scope="module")
def collected(handle):
    provenance = {
        "model": handle.info.identity().model_dump(),
        "site": handle.architecture.site,
        "corpus": "sample:identify",
        "corpus_sha256": "0" * 64,
    }
    return collect(handle, CORPUS, WINDOW, 3, provenance=provenance, progress=False, residual=True)


def test_the_pass_sums_every_layer_output_over_text_tokens(handle, collected):
    for k, texts in enumerate(CORPUS.values()):
        torch.testing.assert_close(
            collected.residual_sums[k], kept_sums(handle, texts), rtol=1e-5, atol=1e-4
        )


def test_the_halves_split_the_residual_sums_and_survive_a_file(collected, tmp_path):
    first, second = collected.halves()
    torch.testing.assert_close(first.residual_sums + second.residual_sums, collected.residual_sums)
    assert not torch.equal(first.residual_sums, collected.residual_sums)
    statistics.save(collected, tmp_path / "s.safetensors")
    again = statistics.load(tmp_path / "s.safetensors")
    assert torch.equal(again.residual_sums, collected.residual_sums)
    assert torch.equal(again.half_residual_sums, collected.half_residual_sums)


def test_two_shares_add_up_to_the_whole_pass(handle, collected):
    parts = [
        collect(
            handle,
            CORPUS,
            window=WINDOW,
            batch_size=3,
            progress=False,
            residual=True,
            share=Share(i, 2),
        )
        for i in (1, 2)
    ]
    torch.testing.assert_close(
        parts[0].residual_sums + parts[1].residual_sums,
        collected.residual_sums,
        rtol=1e-9,
        atol=1e-9,
    )


def test_diffmean_on_collected_statistics_is_a_vector_set_for_the_model(handle, collected):
    found = identify("diffmean", collected)
    assert found.hidden_size == handle.model.config.hidden_size
    assert found.site == handle.architecture.layer
    assert set(found.languages) == set(CORPUS)
    # both halves read one repeated paragraph, in windows cut at other places: close directions
    assert all(0.5 < c <= 1.0 for c in found.statistics.split_half_cosine.values())
