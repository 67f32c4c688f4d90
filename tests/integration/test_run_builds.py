"""A valid run builds its session on the tiny model: the tokenizer loads for the budget check, the model does not."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from langneurons.errors import LangneuronsError
from langneurons.run import session as session_module
from langneurons.run.session import BenchmarkSession, RunOptions
from tests.synthetic import TINY_ABLATION_TASK, tiny_neuron_set, write_text_corpus


@pytest.fixture
def run(tiny_model_folder, tmp_path, monkeypatch):
    """Options for a valid run on the tiny model, whose weights must not load."""
    monkeypatch.setattr(session_module, "load_model", _no_loading)
    corpus = write_text_corpus(tmp_path / "text")
    task = tmp_path / "tiny.yaml"
    task.write_text(TINY_ABLATION_TASK.format(name="tiny", corpus=corpus))
    options = RunOptions(
        model=str(tiny_model_folder),
        neurons=str(tiny_neuron_set(tmp_path, tiny_model_folder)),
        tasks=(task,),
        identify_data=f"text:{corpus}",
        progress=False,
    )
    return {"options": options, "corpus": corpus, "task": task}


def _no_loading(*args, **kwargs):
    raise AssertionError("the model was loaded")


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
