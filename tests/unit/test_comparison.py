"""Comparing neuron sets: counts, categories, Jaccard overlap, layers, the figure."""

import copy
import json

import pytest

from langneurons.errors import ShapeMismatchError
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


def test_sets_of_different_shapes_are_refused_with_both_shapes():
    with pytest.raises(ShapeMismatchError, match="a 4 x 10, b 5 x 10"):
        compare({"a": make(A), "b": make(B, layers=5)})


def test_compare_command_writes_the_figure(tmp_path, capsys):
    paths = []
    for name, languages in (("a", A), ("b", B)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(neuron_set.to_dict(make(languages))))
        paths.append(str(path))
    figure = tmp_path / "layers.png"
    assert main(["compare", *paths, "--figure", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Jaccard overlap per language" in capsys.readouterr().out


def test_two_sets_get_a_difference_row_and_a_phase_table():
    text = render(compare({"base": make(A), "aligned": make(B)}))
    # aligned: (0,2),(0,3),(0,4),(0,5),(2,7) all specific; base: 3 specific, 1 related
    assert "aligned - base" in text and "+2" in text and "-1" in text
    assert "phases (Zhang et al. 2025; layers)" in text
