"""Zhang et al. 2025's four phases, located from language neurons per layer."""

import pytest

from langneurons.neurons.phases import PHASES, locate


def test_a_clean_high_low_high_falling_curve_gives_its_four_phases():
    curve = [50, 40, 45, 2, 1, 0, 3, 1, 30, 60, 90, 20, 10]
    phases = locate(curve)
    assert [phases.label(p) for p in PHASES] == ["0-2", "3-7", "8-10", "11-12"]
    assert phases.matches_paper


def test_the_output_peak_is_searched_in_the_second_half_only():
    # the largest count is in layer 0, but the output peak must be late
    curve = [500, 40, 2, 1, 1, 2, 60, 80, 70, 10]
    phases = locate(curve)
    assert phases.ranges["output transformation"] == (6, 7)
    assert phases.ranges["vocabulary output"] == (8, 9)


def test_a_curve_rising_to_the_last_layer_has_no_vocabulary_phase():
    phases = locate([30, 20, 1, 1, 1, 1, 10, 40])
    assert phases.ranges["vocabulary output"] is None
    assert phases.label("vocabulary output") == "-"
    assert not phases.matches_paper


def test_a_curve_without_a_middle_valley_does_not_match_the_paper():
    assert not locate([1, 1, 1, 5, 9, 20, 40, 60, 80, 5]).matches_paper


def test_too_few_layers_are_refused():
    with pytest.raises(ValueError, match="at least four layers"):
        locate([1, 2, 3])
