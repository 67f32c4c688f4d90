"""Run-breaking input fails while the session is built, in one line, before any model loads."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from langneurons.errors import LangneuronsError
from langneurons.run import session as session_module
from langneurons.run.cli import main
from langneurons.run.session import (
    check_output_file,
    check_output_folder,
    resolve_tasks,
)
from tests.synthetic import TINY_ABLATION_TASK, model_copy, session_fails, write_text_corpus

ROOT = Path(__file__).resolve().parents[2]
TASK = TINY_ABLATION_TASK


def test_an_unsupported_architecture_fails_for_a_method_too(run, tiny_model_folder, tmp_path):
    folder = model_copy(tiny_model_folder, tmp_path / "model", architectures=["FooForCausalLM"])
    session_fails(
        replace(run["options"], model=str(folder), neurons="lape"),
        "unsupported architecture 'FooForCausalLM'",
    )


def test_a_config_transformers_cannot_read_is_named(run, tiny_model_folder, tmp_path):
    folder = model_copy(tiny_model_folder, tmp_path / "model", model_type="foo")
    session_fails(
        replace(run["options"], model=str(folder), neurons="lape"),
        r"model '.*model': cannot read .*config.json: .*model type `foo`",
    )


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("*.safetensors", "has no weights in"), ("tokenizer.json", "has no tokenizer in")],
)
def test_a_model_folder_without_weights_or_tokenizer_is_named(
    run, tiny_model_folder, tmp_path, pattern, message
):
    folder = model_copy(tiny_model_folder, tmp_path / "model")
    for path in folder.glob(pattern):
        path.unlink()
    session_fails(replace(run["options"], model=str(folder), neurons="lape"), message)


def test_device_cuda_without_a_gpu_says_use_cpu(run, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    session_fails(
        replace(run["options"], device="cuda"), "torch sees no CUDA device; use --device cpu$"
    )


def test_two_neuron_sets_of_one_name_are_both_named(run, tmp_path):
    other = tmp_path / "sets" / "lape.json"
    other.parent.mkdir()
    shutil.copy(run["options"].neurons, other)
    session_fails(
        replace(run["options"], neurons=f"lape,{other}"),
        f"--neurons lape and {other} are both named 'lape' .*; rename one",
    )


def test_two_tasks_of_one_name_are_both_named(run, tmp_path):
    copy = tmp_path / "copy.yaml"
    copy.write_text(run["task"].read_text())
    session_fails(
        replace(run["options"], tasks=(run["task"], copy)),
        f"task files {run['task']} and {copy} are both named 'tiny'; rename one",
    )
    session_fails(replace(run["options"], tasks=(run["task"], run["task"])), "is given twice")


def test_a_language_no_task_has_is_named(run):
    session_fails(replace(run["options"], langs=("de", "ko")), "--langs: no task has ko ")


def test_the_model_config_is_read_after_every_other_check(run, monkeypatch):
    monkeypatch.setattr(session_module, "model_shape", _no_loading)
    session_fails(replace(run["options"], langs=("ko",)), "no task has ko")
    session_fails(replace(run["options"], neurons="lapee"), "unknown method 'lapee'")


def test_tasks_resolve_by_name_against_the_repository_tasks_folder():
    folder = ROOT / "tasks"
    assert resolve_tasks(["ablation_perplexity", "steering"], folder) == (
        folder / "ablation_perplexity.yaml",
        folder / "steering.yaml",
    )
    assert resolve_tasks(["some/file.yaml"], folder) == (Path("some/file.yaml"),)
    with pytest.raises(
        LangneuronsError,
        match="unknown task 'stering'; did you mean 'steering'\\? known: ablation_perplexity, ",
    ):
        resolve_tasks(["stering"], folder)
    with pytest.raises(LangneuronsError, match=f"--tasks {folder} is a folder"):
        resolve_tasks([str(folder)], folder)


def test_a_folder_named_like_a_task_does_not_shadow_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "steering").mkdir()
    folder = ROOT / "tasks"
    assert resolve_tasks(["steering"], folder) == (folder / "steering.yaml",)


def test_an_output_folder_that_cannot_be_made_fails_and_nothing_is_created(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(LangneuronsError, match="--results-dir .*afile is a file, not a folder"):
        check_output_folder(afile, "--results-dir")
    with pytest.raises(LangneuronsError, match=f"--results-dir {afile}/out: {afile} is a file"):
        check_output_folder(afile / "out", "--results-dir")
    with pytest.raises(LangneuronsError, match="--out .* is a folder; give a file name"):
        check_output_file(tmp_path, "--out")
    check_output_folder(tmp_path / "new" / "deeper", "--results-dir")
    assert not (tmp_path / "new").exists()


def test_an_unwritable_output_folder_fails(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(LangneuronsError, match="cannot write to .*locked"):
        check_output_folder(locked / "results", "--results-dir")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
        (["--dtype", "int8"], "argument --dtype: invalid choice: 'int8'"),
    ],
)
def test_identify_rejects_an_unknown_device_or_dtype(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_:
        main(["identify", "--out", str(tmp_path / "x.json"), *extra])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "lape.json"], "unknown method 'lape.json'"),
        (["--device", "cuda"], "use --device cpu"),
        (["--out", "."], "--out . is a folder; give a file name"),
    ],
)
def test_identify_fails_before_any_work(
    tiny_model_folder, tmp_path, capsys, monkeypatch, extra, message
):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(session_module, "load_model", _no_loading)
    corpus = write_text_corpus(tmp_path / "text")
    argv = ["identify", "--model", str(tiny_model_folder), "--langs", "en,de"]
    code = main([*argv, "--data", f"text:{corpus}", "--out", str(tmp_path / "x.json"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()


def _no_loading(*args, **kwargs):
    raise AssertionError("the model was loaded")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tokens", "0"], "--tokens must be at least 1, got 0"),
        (["--window", "-1"], "--window must be at least 1, got -1"),
        (["--stats", "s.safetensors", "--tokens", "9"], "--tokens sets the statistics pass"),
    ],
)
def test_identify_budget_flags_are_checked_first(tmp_path, capsys, extra, message):
    code = main(["identify", "--out", str(tmp_path / "x.json"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
