import json

import pytest

from langneurons.errors import FormatError
from langneurons.report import results

MINIMAL = {
    "format": "langneurons.results/1",
    "created": "2026-11-22T00:00:00+00:00",
    "model": {"name": "m"},
    "neuron_set": {
        "sha256": "0" * 64,
        "method": {"name": "lape"},
        "source": "x",
        "neurons": {"en": 1},
        "statistics": None,
    },
    "tasks": [],
    "environment": {},
    "seeds": {"control": 0},
    "timings": {"wall": 1.0},
}


def test_round_trip(tmp_path):
    parsed = results.from_dict(MINIMAL)
    results.dump(parsed, tmp_path / "r.json")
    assert results.load(tmp_path / "r.json").model_copy(update={"sha256": None}) == parsed
    assert json.loads((tmp_path / "r.json").read_text())["format"] == results.FORMAT


def test_written_files_carry_the_hash_of_their_content(tmp_path):
    results.dump(results.from_dict(MINIMAL), tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["sha256"] == results.content_sha256(data)
    data["timings"]["wall"] = 0.5
    assert data["sha256"] != results.content_sha256(data)


def test_other_version_is_rejected_by_name():
    with pytest.raises(
        FormatError,
        match="has format 'langneurons.results/2'; this version reads langneurons.results/1",
    ):
        results.from_dict({**MINIMAL, "format": "langneurons.results/2"})


def test_missing_and_unknown_fields_are_rejected():
    with pytest.raises(FormatError, match="seeds"):
        results.from_dict({k: v for k, v in MINIMAL.items() if k != "seeds"})
    with pytest.raises(FormatError, match="extra"):
        results.from_dict({**MINIMAL, "extra": 1})
