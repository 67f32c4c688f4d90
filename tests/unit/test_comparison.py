"""Comparing neuron sets: counts, categories, Jaccard overlap, layers, the figure."""

import copy
import json

import pytest

from langneurons.neurons import neuron_set
from langneurons.neurons.comparison import compare, render
from langneurons.run.cli import main
from tests.unit.test_neuron_set import GOOD


def make(languages, layers=4, width=10):
    data = copy.deepcopy(GOOD)
    data["model"].update(num_layers=layers, neurons_per_layer=width)
    data["languages"] = languages
    return neuron_set.from_dict(data)


A = {"zh": {"0": [1, 2, 3]}, "ja": {"0": [3], "2": [7]}}
B = {"zh": {"0": [2, 3, 4, 5]}, "ja": {"2": [7]}}


def test_counts_categories_and_overlap():
    result = compare({"a": make(A), "b": make(B)})
    assert result.counts["a"] == {"zh": 3, "ja": 2}
    # neuron (0, 3) is in zh and ja: related; (0, 1), (0, 2), (2, 7) are specific
    assert result.category_counts["a"] == {"specific": 3, "related": 1, "agnostic": 40 - 4}
    assert result.overlap["zh"][0][1] == pytest.approx(2 / 5)
    assert result.overlap["ja"][0][1] == pytest.approx(1 / 2)
    assert result.per_layer["a"]["specific"] == [2, 0, 1, 0]
    text = render(result)
    assert "a ~ b" in text and "0.40" in text


def test_sets_of_different_models_compare_shares_and_relative_depth():
    # a: 4 layers x 10; b: 5 layers x 20 with its neurons in layers 0 and 4 (bottom, top)
    wide = {"zh": {"0": [2, 3, 4, 5]}, "ja": {"4": [7, 8]}}
    result = compare({"a": make(A), "b": make(wide, layers=5, width=20)})
    assert not result.one_shape
    assert result.share("a", "zh") == pytest.approx(3 / 40)
    assert result.share("b", "zh") == pytest.approx(4 / 100)
    # a: 4 neurons in layer 0 (depth 1/8, first fifth) and 1 in layer 2 (depth 5/8, fourth)
    assert result.depth["a"] == pytest.approx([0.75, 0, 0, 0.25, 0])
    assert result.depth["b"] == pytest.approx([4 / 6, 0, 0, 0, 2 / 6])
    assert result.overlap["zh"][0][1] is None  # indices of different models name different neurons
    text = render(result)
    assert "Jaccard overlap per language" not in text
    assert "language neurons per layer" not in text  # layers are not comparable, depth is
    assert "4 x 10" in text and "5 x 20" in text
    depth = text.split("relative depth")[1].splitlines()
    assert any(line.split()[0] == "b" and line.split()[-1] == "1.00" for line in depth[2:])


def test_a_set_of_another_shape_does_not_hide_the_overlap_of_the_others():
    result = compare({"a": make(A), "b": make(B), "c": make(B, layers=5)})
    assert result.overlap["zh"][0][1] == pytest.approx(2 / 5)
    assert result.overlap["zh"][0][2] is None
    assert "a ~ b" in render(result) and "a ~ c" not in render(result)


@pytest.mark.parametrize(("layers", "shown"), [(4, "Jaccard overlap"), (5, "relative depth")])
def test_compare_command_writes_the_figure(tmp_path, capsys, layers, shown):
    paths = []
    for name, languages, depth in (("a", A, 4), ("b", B, layers)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(neuron_set.to_dict(make(languages, layers=depth))))
        paths.append(str(path))
    figure = tmp_path / "layers.png"
    assert main(["compare", *paths, "--figure", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shown in capsys.readouterr().out


def test_two_sets_get_a_difference_row_and_a_phase_table():
    text = render(compare({"base": make(A), "aligned": make(B)}))
    # aligned: (0,2),(0,3),(0,4),(0,5),(2,7) all specific; base: 3 specific, 1 related
    assert "aligned - base" in text and "+2" in text and "-1" in text
    assert "phases (Zhang et al. 2025; layers)" in text
