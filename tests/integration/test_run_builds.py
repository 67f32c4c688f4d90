"""A valid run builds its session on the tiny model: the tokenizer loads for the budget check, the model does not."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from langneurons.errors import LangneuronsError
from langneurons.run.session import BenchmarkSession


def test_a_valid_run_builds_without_loading_the_model(run):
    assert BenchmarkSession(run["options"]).shape.num_layers == 2


def test_a_method_name_is_not_shadowed_by_a_file_or_folder_of_that_name(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(run["options"].neurons, tmp_path / "lape")
    (tmp_path / "random").mkdir()
    session = BenchmarkSession(replace(run["options"], neurons="lape,random"))
    assert session.files == {"lape": None, "random": None}
    forced = BenchmarkSession(replace(run["options"], neurons="./lape"))
    assert forced.files == {"./lape": Path("lape")}
    with pytest.raises(LangneuronsError, match="--neurons ./random is a folder") as error:
        BenchmarkSession(replace(run["options"], neurons="./random"))
    assert "\n" not in str(error.value)
