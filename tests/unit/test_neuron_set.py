"""The neuron-set format: round trip, strict reading, shape checks."""

import copy
import json

import pytest

from langneurons.errors import ConfigError, FormatError, ShapeMismatchError
from langneurons.neurons import neuron_set

GOOD = {
    "format": "langneurons.neuron_set/1",
    "model": {
        "name": "m",
        "source": None,
        "revision": None,
        "architecture": "LlamaForCausalLM",
        "num_layers": 4,
        "neurons_per_layer": 10,
    },
    "site": "model.layers.{i}.mlp.act_fn",
    "method": {"name": "lape", "params": {}},
    "statistics": None,
    "languages": {"zh": {"0": [1, 5], "3": [9]}, "ja": {"2": [0]}},
}


def bad(**changes):
    data = copy.deepcopy(GOOD)
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return data


def test_round_trip_is_exact(tmp_path):
    loaded = neuron_set.from_dict(GOOD)
    neuron_set.dump(loaded, tmp_path / "s.json")
    again = neuron_set.load(tmp_path / "s.json")
    assert again == loaded
    assert json.loads((tmp_path / "s.json").read_text()) == GOOD
    assert loaded.counts_per_layer("zh") == [2, 0, 0, 1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            bad(format="langneurons.neuron_set/2"),
            "format 'langneurons.neuron_set/2'; this version reads langneurons.neuron_set/1",
        ),
        (bad(languages__zh__0=[1, 10]), "neuron 10 is out of range 0..9"),
        (bad(languages__zh__0=[1, 1]), "neuron 1 is listed twice"),
        (bad(languages__zh__0=[-1]), "neuron -1 is out of range"),
        (bad(languages__zh__4=[1]), "layer '4' is out of range 0..3"),
        (bad(languages__zh__0=["1"]), "expected a list of integers"),
        (bad(extra=1), "unknown key 'extra'"),
    ],
)
def test_reader_rejects_bad_content_with_the_place(data, message):
    with pytest.raises(FormatError, match=message.replace("(", "\\(").replace(")", "\\)")):
        neuron_set.from_dict(data, "s.json")


def test_unknown_language_code_is_rejected():
    data = copy.deepcopy(GOOD)
    data["languages"]["xx"] = {}
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        neuron_set.from_dict(data)


def test_shape_mismatch_names_both_shapes():
    loaded = neuron_set.from_dict(GOOD)
    with pytest.raises(
        ShapeMismatchError,
        match=r"neuron set s.json is 4 x 10 \(made for m\); model gemma-3-270m is 18 x 2048",
    ):
        neuron_set.check_compatible(loaded, (18, 2048), "s.json", "gemma-3-270m")


def test_invalid_json_file_is_a_format_error(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{not json")
    with pytest.raises(FormatError, match="is not valid JSON"):
        neuron_set.load(path)


def test_a_left_out_nullable_model_key_reads_and_hashes_as_null():
    data = copy.deepcopy(GOOD)
    del data["model"]["source"]
    loaded = neuron_set.from_dict(data)
    assert loaded.model.source is None
    assert neuron_set.to_dict(loaded) == GOOD
    assert loaded.sha256() == neuron_set.from_dict(GOOD).sha256()


def test_the_records_of_a_set_are_frozen():
    loaded = neuron_set.from_dict(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        loaded.model.__setattr__("num_layers", 5)
