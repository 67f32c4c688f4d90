"""Kojima et al. 2024 on synthetic unit means: a ranking known by construction."""

from dataclasses import replace

import pytest
import torch

from langneurons.errors import ConfigError, FormatError
from langneurons.neurons.identification import identify
from langneurons.neurons.methods.kojima2024 import average_precision
from tests.synthetic import synthetic_stats
from tests.unit.test_lape import planted

LANGS = ("en", "de", "zh")


def units(per_language=10, layers=2, width=6):
    """Unit means where de's units are the highest at (1, 4), the lowest at (0, 2), the only ones
    above the others' at (0, 5) in 8 of 10 units; everything else is noise shared by all."""
    generator = torch.Generator().manual_seed(0)
    owner = torch.arange(len(LANGS)).repeat_interleave(per_language)
    means = torch.rand(len(owner), layers, width, generator=generator)
    de = owner == 1
    means[de, 1, 4] += 2.0
    means[de, 0, 2] -= 2.0
    means[de.nonzero()[:8].flatten(), 0, 5] += 2.0
    counts = torch.zeros(3, layers, width)
    return replace(
        synthetic_stats(counts, [1000] * 3, list(LANGS)),
        unit_means=means,
        unit_languages=owner,
        unit_halves=torch.arange(len(owner)) % 2,
    )


def test_ap_is_one_for_a_neuron_that_ranks_a_language_first_and_known_otherwise():
    ap = average_precision(units())
    de = LANGS.index("de")
    assert ap[de, 1, 4] == 1.0
    # de's ten units ranked last of thirty: precision k / (20 + k) at its k-th unit
    assert ap[de, 0, 2].item() == pytest.approx(sum(k / (20 + k) for k in range(1, 11)) / 10)
    # eight units first, then two among the rest: at least 0.8
    assert 0.8 < ap[de, 0, 5] < 1.0


def test_the_top_and_bottom_by_ap_are_selected_over_all_layers():
    found = identify("kojima2024", units(), {"top_k": 2, "bottom_k": 1})
    assert found.languages["de"] == {0: (2, 5), 1: (4,)}
    assert found.method.params == {"top_k": 2, "bottom_k": 1}
    assert identify("kojima2024", units()).method.params == {"top_k": 1000, "bottom_k": 1000}


def test_a_neuron_in_the_top_and_the_bottom_is_listed_once():
    found = identify("kojima2024", units(), {"top_k": 12, "bottom_k": 12})
    assert sum(len(v) for v in found.languages["de"].values()) == 12


def test_without_unit_means_or_a_second_language_it_says_what_to_do():
    with pytest.raises(FormatError, match="needs statistics with unit means"):
        identify("kojima2024", planted())
    alone = units()
    one = replace(
        alone,
        languages=("en",),
        unit_means=alone.unit_means[:10],
        unit_languages=alone.unit_languages[:10],
        unit_halves=alone.unit_halves[:10],
    )
    with pytest.raises(ConfigError, match="two or more"):
        identify("kojima2024", one)


def test_a_language_without_units_is_named():
    stats = units()
    keep = stats.unit_languages != 2
    short = replace(
        stats,
        unit_means=stats.unit_means[keep],
        unit_languages=stats.unit_languages[keep],
        unit_halves=stats.unit_halves[keep],
    )
    with pytest.raises(ConfigError, match="'zh'"):
        identify("kojima2024", short)
