"""Split-half stability: a method's sets on two disjoint halves of the corpus, compared."""

import pytest
import torch

from langneurons.errors import FormatError
from langneurons.neurons import neuron_set
from langneurons.neurons.comparison import compare, render
from langneurons.neurons.identification import identify, jaccard, split_half_jaccard
from langneurons.neurons.statistics import check, with_tensors
from tests.synthetic import synthetic_stats

LANGS = ["en", "de", "zh"]


def counts(planted, tokens):
    """Counts [3, 4, 100]: a background everywhere, and ``planted`` (lang, layer, neuron) units."""
    generator = torch.Generator().manual_seed(0)
    probs = (torch.rand(1, 4, 100, generator=generator) * 0.2).repeat(3, 1, 1)
    for k, layer, neuron in planted:
        probs[k, layer, neuron] = 0.95
    return (probs * tokens).round().to(torch.int64)


def with_halves(first, second, tokens):
    """Statistics whose halves hold ``first`` and ``second`` planted units."""
    whole = synthetic_stats(counts(first, tokens) + counts(second, tokens), [2 * tokens] * 3, LANGS)
    half = synthetic_stats(counts(first, tokens), [tokens] * 3, LANGS)
    return with_tensors(
        whole,
        {
            "half_tokens": half.tokens,
            "half_over_zero": half.over_zero,
            "half_sums": half.sums,
            "half_sums_sq": half.sums_sq,
        },
    )


PLANTED = [(0, 1, 9), (1, 0, 3), (2, 3, 7)]


def test_a_method_that_finds_the_same_units_in_both_halves_is_stable():
    stats = with_halves(PLANTED, PLANTED, 1000)
    assert split_half_jaccard("lape", stats, {"top_rate": 0.0075}) == dict.fromkeys(LANGS, 1.0)


def test_units_found_in_one_half_only_lower_the_overlap():
    moved = [(0, 1, 9), (1, 0, 3), (2, 2, 42)]  # zh's unit differs between the halves
    found = split_half_jaccard("lape", with_halves(PLANTED, moved, 1000), {"top_rate": 0.0075})
    assert found["en"] == found["de"] == 1.0
    assert found["zh"] < 1.0


def test_the_set_records_it_and_compare_shows_it():
    found = identify("lape", with_halves(PLANTED, PLANTED, 1000), {"top_rate": 0.0075})
    assert found.statistics.split_half_jaccard == dict.fromkeys(LANGS, 1.0)
    again = neuron_set.from_dict(neuron_set.to_dict(found))
    assert again.statistics.split_half_jaccard == dict.fromkeys(LANGS, 1.0)
    text = render(compare({"a": found, "b": found}))
    assert "split-half stability" in text and "1.00" in text


def test_statistics_without_halves_record_none_and_keep_their_json():
    found = identify("lape", synthetic_stats(counts(PLANTED, 1000), [1000] * 3, LANGS))
    assert found.statistics.split_half_jaccard is None
    assert "split_half_jaccard" not in neuron_set.to_dict(found)["statistics"]


def test_jaccard_of_empty_selections_is_agreement():
    assert jaccard({}, {}) == 1.0
    assert jaccard({0: (1, 2)}, {0: (2,), 1: (5,)}) == pytest.approx(1 / 3)


def test_a_half_larger_than_its_whole_is_refused():
    stats = with_halves(PLANTED, PLANTED, 1000)
    bad = with_tensors(stats, {"half_tokens": stats.tokens + 1})
    with pytest.raises(FormatError, match="a half holds more than the whole"):
        check(bad, "s")
    partial = with_tensors(stats, {"half_sums": None})
    with pytest.raises(FormatError, match="half_\\* tensors come together"):
        check(partial, "s")
