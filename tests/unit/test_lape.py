"""LAPE on synthetic statistics: properties a broken implementation would miss."""

import torch

from langneurons.neurons.identification import identify
from tests.synthetic import synthetic_stats

LANGS = ["en", "de", "zh"]


def planted(tokens=1000):
    """3 languages, 2 layers x 100 neurons; background equally active everywhere, some planted."""
    generator = torch.Generator().manual_seed(0)
    probs = (torch.rand(1, 2, 100, generator=generator) * 0.2).repeat(3, 1, 1)
    probs[:, 0, 0] = 0.9  # active in every language: not language-specific
    probs[2, 1, 7] = 0.95  # zh only
    probs[1, 0, 3] = 0.97  # de only
    probs[0, 1, 9], probs[1, 1, 9] = 0.96, 0.94  # en and de, not zh
    return synthetic_stats((probs * tokens).round(), [tokens] * 3, LANGS)


def test_lape_finds_neurons_planted_for_one_language():
    found = identify("lape", planted(), {"top_rate": 0.015})
    assert 7 in found.languages["zh"].get(1, ())
    assert 3 in found.languages["de"].get(0, ())


def test_lape_drops_neurons_active_in_every_language():
    found = identify("lape", planted(), {"top_rate": 0.015})
    assert all(0 not in found.languages[lang].get(0, ()) for lang in LANGS)


def test_lape_assigns_a_shared_neuron_to_every_language_above_the_bar():
    found = identify("lape", planted(), {"top_rate": 0.015})
    assert 9 in found.languages["en"].get(1, ()) and 9 in found.languages["de"].get(1, ())
    assert 9 not in found.languages["zh"].get(1, ())


def test_lape_keeps_round_of_top_rate_candidates_at_most():
    stats = planted()
    found = identify("lape", stats, {"top_rate": 0.015})
    distinct = {
        (layer, n) for lang in LANGS for layer, idx in found.languages[lang].items() for n in idx
    }
    assert len(distinct) <= round(2 * 100 * 0.015)


def test_lape_never_selects_neurons_below_the_filter_quantile():
    stats = planted()
    found = identify("lape", stats, {"top_rate": 0.5})
    probs = stats.over_zero / stats.tokens[:, None, None]
    bar = probs.flatten().kthvalue(round(probs.numel() * 0.95)).values
    for lang in LANGS:
        k = LANGS.index(lang)
        for layer, idx in found.languages[lang].items():
            assert all(probs[k, layer, n] > bar for n in idx)


def test_identify_records_method_params_and_statistics():
    found = identify("lape", planted(), {"top_rate": 0.015})
    assert found.method.model_dump() == {
        "name": "lape",
        "params": {"top_rate": 0.015, "filter_rate": 0.95, "activation_bar_ratio": 0.95},
    }
    assert found.statistics.tokens == {"en": 1000, "de": 1000, "zh": 1000}
