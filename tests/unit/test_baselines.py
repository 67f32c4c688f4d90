"""Baselines on synthetic statistics: frequency, mean difference, random."""

import pytest
import torch

from langneurons.errors import ConfigError, FormatError
from langneurons.neurons.identification import identify
from tests.unit.test_lape import LANGS, planted


def with_means(stats):
    """Give the planted statistics sums: mean activation 1.0 wherever p > 0.5, else 0.1."""
    means = torch.where(stats.over_zero / stats.tokens[:, None, None] > 0.5, 1.0, 0.1).double()
    return type(stats)(
        stats.languages,
        stats.tokens,
        stats.over_zero,
        means * stats.tokens[:, None, None],
        means,
        stats.provenance,
    )


def test_frequency_finds_single_language_neurons_and_never_shared_ones():
    found = identify("frequency", planted(), {"top_rate": 0.015})
    assert 7 in found.languages["zh"].get(1, ())
    assert 3 in found.languages["de"].get(0, ())
    assert all(0 not in found.languages[lang].get(0, ()) for lang in LANGS)


def test_meandiff_uses_activation_sums_and_refuses_counts_only():
    found = identify("meandiff", with_means(planted()), {"top_rate": 0.015})
    assert 7 in found.languages["zh"].get(1, ())
    counts_only = type(planted())(
        *[getattr(planted(), f) for f in ("languages", "tokens", "over_zero")], None, None, {}
    )
    with pytest.raises(FormatError, match="counts only"):
        identify("meandiff", counts_only)


def test_random_matches_the_per_layer_counts_of_its_reference_and_is_seeded():
    stats = planted()
    reference = identify("lape", stats, {"top_rate": 0.015})
    first = identify("random", stats, {"seed": 3})
    again = identify("random", stats, {"seed": 3})
    other = identify("random", stats, {"seed": 4})
    lape_default = identify("lape", stats)
    for lang in LANGS:
        assert first.counts_per_layer(lang) == lape_default.counts_per_layer(lang)
    assert first.languages == again.languages
    assert first.languages != other.languages or all(reference.count(lang) == 0 for lang in LANGS)


def test_random_cannot_be_matched_to_itself():
    with pytest.raises(ConfigError, match="cannot be matched to itself"):
        identify("random", planted(), {"like": "random"})


def test_a_random_set_and_its_control_are_different_draws():
    from langneurons.neurons.controls import matched_random

    found = identify("random", planted(), {"seed": 0})
    control = matched_random(found, seed=0)
    assert any(
        found.languages[lang] != control.languages[lang] for lang in LANGS if found.count(lang)
    )
