"""Bootstrap intervals: coverage, pairing, determinism; checks on an interval's bound."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from langneurons.tasks.checks import Rule, diagonal, failures
from langneurons.tasks.kinds.ablation import AblationChecks
from langneurons.tasks.protocol import Cell
from langneurons.tasks.uncertainty import (
    RESAMPLES,
    draw_indices,
    interval,
    over_draws,
    spread,
    unit_indices,
    with_interval,
)


def test_interval_of_a_mean_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    # a broken resampler (without replacement, one draw for all, wrong quantiles)
    # gives intervals of width 0 or far off the nominal coverage
    rng = np.random.default_rng(1)
    covered = 0
    trials = 300
    for trial in range(trials):
        data = rng.exponential(1.0, size=40)  # skewed: true mean 1
        picks = unit_indices(len(data), trial, "coverage")
        low, high = interval(data[picks].mean(axis=1))
        covered += low <= 1.0 <= high
    assert 0.88 <= covered / trials <= 0.99


def test_interval_width_matches_the_standard_error() -> None:
    data = np.random.default_rng(2).normal(0.0, 1.0, size=400)
    low, high = interval(data[unit_indices(400, 0, "width")].mean(axis=1))
    expected = 2 * 1.96 * data.std(ddof=1) / np.sqrt(400)
    assert high - low == pytest.approx(expected, rel=0.12)


def test_resampling_is_paired_and_deterministic_by_key() -> None:
    first = unit_indices(10, 0, "task/de")
    assert first.shape == (RESAMPLES, 10)
    assert (first == unit_indices(10, 0, "task/de")).all()
    assert not (first == unit_indices(10, 0, "task/fr")).all()
    assert not (first == unit_indices(10, 1, "task/de")).all()
    assert not (draw_indices(10, 0, "task/de") == first).all()
    # the same windows in both conditions: a ratio of equal sides has no spread
    nll = np.random.default_rng(3).uniform(1, 3, size=10)
    ratio = np.exp(nll[first].mean(axis=1) - nll[first].mean(axis=1))
    assert interval(ratio) == (1.0, 1.0)


def test_no_units_is_an_error() -> None:
    with pytest.raises(ValueError, match="no units to resample for task/de"):
        unit_indices(0, 0, "task/de")


def test_with_interval_stores_three_metrics() -> None:
    metrics: dict[str, float] = {}
    with_interval(metrics, "ratio", 2.0, np.array([1.0, 2.0, 3.0]))
    assert metrics["ratio"] == 2.0
    assert metrics["ratio_lo"] == pytest.approx(1.05)
    assert metrics["ratio_hi"] == pytest.approx(2.95)


CELL = Cell("t", "ablate[de]-eval[de]", {"ablate": "de", "eval": "de"})
RULES = (Rule("min_own_ratio", "ratio", "own ratio", diagonal("ablate", "eval")),)
METRICS = {"ratio": 1.6, "ratio_lo": 1.3, "ratio_hi": 2.0}


def test_a_check_reads_the_point_unless_told_to_read_the_bound() -> None:
    point = AblationChecks(min_own_ratio=1.5, max_other_ratio=1.1, max_control_ratio=1.1)
    assert failures(RULES, point, CELL, METRICS) == []
    bound = point.model_copy(update={"use_bound": ["min_own_ratio"]})
    assert failures(RULES, bound, CELL, METRICS) == ["own ratio lower bound 1.300 < 1.5"]


def test_use_bound_names_only_checks_with_an_interval() -> None:
    with pytest.raises(ValidationError, match="use_bound: min_own_ratoi has no interval"):
        AblationChecks(
            min_own_ratio=1.5,
            max_other_ratio=1.1,
            max_control_ratio=1.1,
            use_bound=["min_own_ratoi"],
        )


def test_a_controls_replicates_resample_its_draws_and_its_units() -> None:
    # two draws that disagree completely: resampling only the units would give each
    # replicate the mean 0.5; resampling the draws spreads the replicates out
    values = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    picks = unit_indices(4, 0, "units")
    replicates = over_draws(values, picks, draw_indices(2, 0, "draws"))
    assert set(np.round(replicates, 6)) == {0.0, 0.5, 1.0}
    # one draw: the units' bootstrap alone
    single = values[1:] * np.array([1.0, 2.0, 3.0, 4.0])
    expected = single[0][picks].mean(axis=1)
    assert np.allclose(over_draws(single, picks, draw_indices(1, 0, "one")), expected)
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert spread([4.2]) == 0.0
