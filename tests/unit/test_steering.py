"""Steering values, the task file, its cells, and the prompts source."""

from pathlib import Path

import pytest
import torch
import yaml

from langneurons.errors import ConfigError, FormatError, MissingResourceError
from langneurons.neurons.statistics import HISTOGRAM_BINS, HISTOGRAM_EDGES
from langneurons.tasks.protocol import task_kind
from langneurons.tasks.spec import load_task
from langneurons.tasks.steering_values import SteeringValue, steering_values
from langneurons.text.corpus import CorpusSpec, paragraphs
from tests.synthetic import synthetic_stats

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = ["en", "de", "fr", "es", "ru", "zh", "ja", "vi", "id"]


def stats_with_sums():
    stats = synthetic_stats(torch.zeros(2, 2, 4), [10, 20], ["en", "zh"])
    stats.sums[1] = torch.arange(8, dtype=torch.float64).reshape(2, 4) * 20  # zh mean = arange
    return stats


@pytest.mark.parametrize(
    ("text", "statistic", "factor"),
    [
        ("mean", "mean", 1.0),
        ("2*mean", "mean", 2.0),
        ("p95", "p95", 1.0),
        ("1.5*p90", "p90", 1.5),
        ("unit_p50", "unit_p50", 1.0),
    ],
)
def test_values_parse(text, statistic, factor):
    assert SteeringValue.parse(text) == SteeringValue(statistic, factor)


@pytest.mark.parametrize("text", ["median", "mean*2", "p", "p100", "-1*mean"])
def test_bad_values_say_what_to_write(text):
    with pytest.raises(ConfigError, match="write mean, 2\\*mean, p95, 1.5\\*p90 or unit_p50"):
        SteeringValue.parse(text)


def test_mean_values_follow_the_indices_and_the_factor():
    values = steering_values(stats_with_sums(), {1: (3, 0)}, "zh", SteeringValue("mean", 2.0))
    assert values == {1: [14.0, 8.0]}


def test_values_for_a_language_without_statistics_are_refused():
    with pytest.raises(ConfigError, match="no 'ja'"):
        steering_values(stats_with_sums(), {0: (1,)}, "ja", SteeringValue("mean"))


def test_percentiles_need_histograms():
    with pytest.raises(FormatError, match="no histograms"):
        steering_values(stats_with_sums(), {0: (1,)}, "zh", SteeringValue("p90"))


def test_unit_percentiles_need_unit_means():
    with pytest.raises(FormatError, match="no unit means"):
        steering_values(stats_with_sums(), {0: (1,)}, "zh", SteeringValue.parse("unit_p50"))


def test_percentile_interpolates_inside_its_bin():
    stats = stats_with_sums()
    bins = torch.zeros(2, 2, 4, HISTOGRAM_BINS, dtype=torch.int64)
    # zh, layer 0, neuron 0: 10 tokens <= 0, 10 in the bin (edge[23], edge[24]] = (0.75, 1]
    bins[1, 0, 0, 0] = 10
    bins[1, 0, 0, 25] = 10
    bins[1, :, :, 0] += 20 - bins[1].sum(-1)
    bins[0, :, :, 0] = 10
    stats = type(stats)(**{**stats.__dict__, "histograms": bins})
    low, high = HISTOGRAM_EDGES[23], HISTOGRAM_EDGES[24]
    assert stats.quantile(75, "zh")[0, 0].item() == pytest.approx(low + 0.5 * (high - low))
    assert stats.quantile(40, "zh")[0, 0].item() == 0.0


def test_the_shipped_task_validates_and_has_both_directions():
    task = load_task(ROOT / "tasks" / "steering.yaml")
    cells = task_kind("steering").cells(task)
    assert len(cells) == 16
    assert cells[0].id == "steer[en>de]" and cells[-1].id == "steer[id>en]"
    assert not task.fields.needs_histograms()


def write(tmp_path, **changes):
    data = yaml.safe_load((ROOT / "tasks" / "steering.yaml").read_text())
    data.update(changes)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_directions_and_percentile_values(tmp_path):
    task = load_task(write(tmp_path, directions="from_pivot", value="p95"))
    assert [c.id for c in task_kind("steering").cells(task)][:2] == ["steer[en>de]", "steer[en>fr]"]
    assert len(task_kind("steering").cells(task)) == 8
    assert task.fields.needs_histograms()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"value": "median"}, "value: String should match pattern"),
        ({"pivot": "sw"}, "pivot 'sw' is not among the languages"),
        ({"judge": "fasttext"}, "unknown judge 'fasttext'"),
        ({"guard": {"max_repeat": 0.5}}, "guard: unknown key 'max_repeat'"),
    ],
)
def test_bad_task_files_name_the_key(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        load_task(write(tmp_path, **changes))


def test_the_prompts_source_has_twenty_aligned_prompts_per_default_language():
    prompts = {lang: paragraphs(CorpusSpec("prompts"), lang, "evaluate") for lang in DEFAULTS}
    assert {len(p) for p in prompts.values()} == {20}
    assert len({p for ps in prompts.values() for p in ps}) == 180


def test_the_prompts_source_names_what_it_lacks():
    with pytest.raises(MissingResourceError, match="no 'sw' prompts"):
        paragraphs(CorpusSpec("prompts"), "sw", "evaluate")
    with pytest.raises(MissingResourceError, match="evaluate split only"):
        paragraphs(CorpusSpec("prompts"), "en", "identify")
