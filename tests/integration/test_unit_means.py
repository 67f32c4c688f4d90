"""Unit means: the streamed pass keeps each unit's mean as the kept activations give it, and
Kojima et al.'s AP from them is sklearn's, neuron by neuron."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from langneurons.errors import FormatError
from langneurons.models.handle import load_model, resolve_model
from langneurons.neurons.collection import collect
from langneurons.neurons.methods.kojima2024 import average_precision
from langneurons.neurons.statistics import UNIT_TOKENS, load, save, with_tensors
from langneurons.tasks.steering_values import SteeringValue, steering_values
from langneurons.text.windows import windows
from tests.synthetic import SAMPLE_TEXT

WINDOW = 2 * UNIT_TOKENS + 8  # two units and a remainder per full window


def kept_unit_means(handle, paragraphs):
    """[units, layers, neurons]: each unit's mean activation, from hooks that keep everything."""
    kept = {i: [] for i in range(handle.info.num_layers)}
    hooks = [
        site.register_forward_hook(
            lambda m, i, o, layer=layer: kept[layer].append(o[0, 1:].clone()) and None
        )
        for layer, site in enumerate(handle.sites())
    ]
    try:
        with torch.no_grad():
            for w in windows(handle.tokenizer, paragraphs, WINDOW):
                handle.model(input_ids=torch.tensor([w.ids]))
    finally:
        for h in hooks:
            h.remove()
    per_layer = []
    for layer in range(handle.info.num_layers):
        units = [
            acts[u * UNIT_TOKENS : (u + 1) * UNIT_TOKENS].mean(0)
            for acts in kept[layer]
            for u in range(acts.shape[0] // UNIT_TOKENS)
        ]
        per_layer.append(torch.stack(units))
    return torch.stack(per_layer, dim=1)


@pytest.fixture(scope="module")
def collected(tiny_model_folder):
    handle = load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")
    corpus = {lang: [SAMPLE_TEXT[lang]] * 12 for lang in ("en", "de", "zh")}
    stats = collect(handle, corpus, window=WINDOW, batch_size=3, progress=False, unit_means=True)
    return stats, {lang: kept_unit_means(handle, texts) for lang, texts in corpus.items()}


def test_the_pass_keeps_every_unit_mean_with_its_language_and_half(collected):
    stats, kept = collected
    for lang, exact in kept.items():
        assert exact.shape[0] > 0
        torch.testing.assert_close(stats.language_units(lang), exact, rtol=1e-5, atol=1e-6)
    first, second = stats.halves()
    assert first.unit_means.shape[0] + second.unit_means.shape[0] == stats.unit_means.shape[0]
    assert first.unit_means.shape[0] > 0 and second.unit_means.shape[0] > 0


def test_ap_equals_sklearn_for_every_language_and_neuron(collected):
    stats, _ = collected
    ours = average_precision(stats)
    values = stats.unit_means.double().numpy()
    owner = stats.unit_languages.numpy()
    for k in range(len(stats.languages)):
        for layer in range(values.shape[1]):
            for n in range(values.shape[2]):
                expected = average_precision_score(owner == k, values[:, layer, n])
                assert ours[k, layer, n].item() == pytest.approx(expected, abs=1e-12)


def test_ap_groups_ties_as_sklearn_does():
    """Scores rounded to few values tie often; each tie group is one threshold."""
    from langneurons.neurons.statistics import ActivationStats

    rng = np.random.default_rng(0)
    values = rng.integers(0, 4, size=(60, 1, 5)).astype(np.float32)
    owner = rng.integers(0, 3, size=60)
    stats = ActivationStats(
        ("a", "b", "c"),
        torch.tensor([1000, 1000, 1000]),
        torch.zeros(3, 1, 5, dtype=torch.int64),
        None,
        None,
        {},
        unit_means=torch.from_numpy(values),
        unit_languages=torch.from_numpy(owner).long(),
        unit_halves=torch.zeros(60, dtype=torch.int64),
    )
    ours = average_precision(stats)
    for k in range(3):
        for n in range(5):
            expected = average_precision_score(owner == k, values[:, 0, n])
            assert ours[k, 0, n].item() == pytest.approx(expected, abs=1e-12)


def test_the_unit_median_is_numpys_percentile_of_the_means(collected):
    stats, kept = collected
    neurons = {0: [0, 3, 5], 1: [2]}
    found = steering_values(stats, neurons, "de", SteeringValue.parse("unit_p50"))
    exact = np.percentile(kept["de"].double().numpy(), 50, axis=0)
    for layer, idx in neurons.items():
        assert found[layer] == pytest.approx([exact[layer, n] for n in idx], rel=1e-5, abs=1e-7)


def test_unit_means_survive_the_file_and_tampered_ones_are_refused(collected, tmp_path):
    stats, _ = collected
    save(stats, tmp_path / "s.safetensors")
    again = load(tmp_path / "s.safetensors")
    assert (
        torch.equal(again.unit_means, stats.unit_means) and again.unit_means.dtype == torch.float32
    )
    cases = {
        "outside 0..2": {"unit_languages": stats.unit_languages + 3},
        "come together": {"unit_halves": None},
        "more than its": {"unit_languages": torch.zeros_like(stats.unit_languages)},
        "finite": {"unit_means": stats.unit_means.clone().fill_(float("nan"))},
    }
    for message, change in cases.items():
        save(with_tensors(stats, change), tmp_path / "bad.safetensors")
        with pytest.raises(FormatError, match=message):
            load(tmp_path / "bad.safetensors")
