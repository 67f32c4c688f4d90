import json

import pytest

from langneurons.errors import FormatError
from langneurons.report import results
from tests.leaderboard_files import ENVIRONMENT, MODEL, results_1

CELL = {
    "id": "c",
    "params": {},
    "metrics": {"ppl": 2.0},
    "passed": True,
    "failures": [],
    "curves": {},
    "info": {},
    "units": {},
}
MINIMAL = {
    "format": "langneurons.results/3",
    "created": "2026-11-22T00:00:00+00:00",
    "model": MODEL,
    "neuron_set": {
        "sha256": "0" * 64,
        "method": {"name": "lape"},
        "source": "x",
        "neurons": {"en": 1},
        "per_layer": {"en": [1]},
        "statistics": None,
    },
    "tasks": [
        {
            "name": "t",
            "kind": "ablation",
            "version": 1,
            "spec_sha256": "0" * 64,
            "spec": {},
            "cells": [CELL],
            "summary": {},
        }
    ],
    "environment": ENVIRONMENT,
    "seeds": {"control": 0},
    "timings": {"wall": 1.0},
    "command": "pytest benchmark/",
    "complete": True,
}


def test_round_trip(tmp_path):
    made = results.new(MINIMAL)
    results.dump(made, tmp_path / "r.json")
    assert results.load(tmp_path / "r.json") == made
    assert json.loads((tmp_path / "r.json").read_text())["format"] == results.FORMAT


def test_written_files_carry_the_hash_of_their_content(tmp_path):
    results.dump(results.new(MINIMAL), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["sha256"] == results.content_sha256(data) == results.new(MINIMAL).sha256
    data["timings"]["wall"] = 0.5
    assert data["sha256"] != results.content_sha256(data)


def test_results_1_is_refused_with_the_command_that_upgrades_it():
    with pytest.raises(FormatError) as error:
        results.from_dict(results_1(), "r.json")
    assert str(error.value) == (
        "r.json is langneurons.results/1; this version reads langneurons.results/3: "
        "run `langneurons upgrade r.json`"
    )


@pytest.mark.parametrize("read", [results.from_dict, results.upgrade])
def test_an_unknown_version_is_rejected_by_name(read):
    with pytest.raises(FormatError, match="has format 'langneurons.results/4'"):
        read({**MINIMAL, "format": "langneurons.results/4"})


@pytest.mark.parametrize(
    "path",
    [
        ("seeds",),
        ("command",),
        ("complete",),
        ("sha256",),
        ("model", "dtype_choice"),
        ("environment", "lock"),
        ("neuron_set", "per_layer"),
        ("tasks", 0, "cells", 0, "curves"),
        ("tasks", 0, "cells", 0, "info"),
        ("tasks", 0, "cells", 0, "units"),
    ],
)
def test_every_field_is_required(path):
    data = json.loads(json.dumps({**MINIMAL, "sha256": "0" * 64}))
    record = data
    for key in path[:-1]:
        record = record[key]
    del record[path[-1]]
    with pytest.raises(FormatError, match=f"{path[-1]}: Field required"):
        results.from_dict(data)


def test_unknown_fields_are_rejected():
    with pytest.raises(FormatError, match="extra"):
        results.new({**MINIMAL, "extra": 1})
    with pytest.raises(FormatError, match="environment.gpu: Extra inputs"):
        results.new({**MINIMAL, "environment": {**ENVIRONMENT, "gpu": "x"}})


def test_upgrade_fills_the_fields_results_1_defaulted_explicitly():
    upgraded = results.upgrade(results_1(), "r.json")
    data = results.to_dict(upgraded)
    assert data["format"] == "langneurons.results/3"
    assert data["complete"] is None
    assert data["model"]["dtype_choice"] is None
    assert data["environment"]["lock"] is None
    cell = data["tasks"][0]["cells"][0]
    assert cell["info"] == {} and cell["units"] == {}
    assert cell["metrics"] == {"items": 10.0, "final_accuracy": 1.0, "layers": 4.0}
    assert data["sha256"] == results.content_sha256(data)
    assert results.from_dict(data) == upgraded
    kept = ("created", "seeds", "timings", "command")  # as they were
    assert {key: data[key] for key in kept} == {key: results_1()[key] for key in kept}
    assert data["neuron_set"] == {**results_1()["neuron_set"], "kind": "neurons"}


def test_upgrade_keeps_a_recorded_layers_and_complete():
    old = results_1()
    old["complete"] = False
    old["tasks"][0]["cells"][0]["metrics"]["layers"] = 3.0
    old["sha256"] = results.content_sha256(old)
    upgraded = results.upgrade(old)
    assert upgraded.complete is False
    assert upgraded.tasks[0].cells[0].metrics["layers"] == 3.0


def test_upgrade_refuses_a_results_1_file_that_does_not_match_its_sha256():
    old = results_1()
    old["timings"]["wall"] = 2.0
    with pytest.raises(FormatError, match="r.json: content does not match its sha256"):
        results.upgrade(old, "r.json")


def test_upgrade_refuses_a_results_1_file_without_a_hash():
    old = results_1()
    del old["sha256"]
    with pytest.raises(FormatError, match="no sha256 .* run the benchmark again"):
        results.upgrade(old, "r.json")


def test_upgrade_refuses_a_results_1_file_missing_what_results_1_always_had():
    old = results_1()
    del old["model"]["source"]
    old["sha256"] = results.content_sha256(old)
    with pytest.raises(FormatError, match="model.source: Field required .*not a langneurons"):
        results.upgrade(old, "r.json")


def test_upgrade_returns_a_results_2_file_as_it_is():
    current = results.to_dict(results.new(MINIMAL))
    assert results.to_dict(results.upgrade(current)) == current
    again = results.to_dict(results.upgrade(results.to_dict(results.upgrade(results_1()))))
    assert again == results.to_dict(results.upgrade(results_1()))


def test_an_interval_whose_low_end_is_above_its_high_end_is_refused():
    data = json.loads(json.dumps(MINIMAL))
    data["tasks"][0]["cells"][0]["metrics"] |= {"ppl_lo": 2.5, "ppl_hi": 1.5}
    with pytest.raises(FormatError, match="interval of ppl has low 2.5 > high 1.5"):
        results.new(data)
    data["tasks"][0]["cells"][0]["metrics"] |= {"ppl_lo": 1.5, "ppl_hi": 2.5}
    assert results.new(data).tasks[0].cells[0].metrics["ppl_hi"] == 2.5


def test_upgrade_of_results_2_records_no_units_and_changes_nothing_else():
    old = results.to_dict(results.new(MINIMAL))  # as the writer normalises it
    old["format"] = "langneurons.results/2"
    del old["tasks"][0]["cells"][0]["units"]
    old["sha256"] = results.content_sha256(old)
    with pytest.raises(FormatError, match="is langneurons.results/2; .*langneurons upgrade"):
        results.from_dict(old, "r.json")
    data = results.to_dict(results.upgrade(old, "r.json"))
    assert data["tasks"][0]["cells"][0]["units"] == {}
    assert data["sha256"] == results.content_sha256(data)
    same = {k: v for k, v in data.items() if k not in ("format", "tasks", "sha256")}
    assert same == {k: v for k, v in old.items() if k not in ("format", "tasks", "sha256")}
    old["timings"]["wall"] = 2.0  # edited after the run: its hash no longer matches
    with pytest.raises(FormatError, match="does not match its sha256"):
        results.upgrade(old, "r.json")


def test_the_kind_of_set_is_recorded_and_files_from_before_it_read_as_neurons():
    data = json.loads(json.dumps({**MINIMAL, "sha256": "0" * 64}))
    assert results.Results.model_validate(data).neuron_set.kind == "neurons"
    data["neuron_set"]["kind"] = "vectors"
    assert results.Results.model_validate(data).neuron_set.kind == "vectors"
    data["neuron_set"]["kind"] = "directions"
    with pytest.raises(ValueError, match="kind"):
        results.Results.model_validate(data)
