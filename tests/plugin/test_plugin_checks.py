"""Run-breaking options end `pytest benchmark/` at collection with one ERROR line."""

import json
import shutil
from pathlib import Path

import pytest

from tests.plugin.conftest import args

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


def run(pytester, project, *extra):
    return pytester.runpytest_subprocess(*args(project, *extra))


def assert_one_error(result, message):
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str()


def test_a_results_dir_that_is_a_file_fails_at_collection(pytester, project):
    (pytester.path / "out").write_text("")
    result = run(pytester, project)
    assert_one_error(result, "--results-dir out is a file, not a folder")
    assert (pytester.path / "out").read_text() == ""


def test_device_cuda_without_a_gpu_fails_at_collection(pytester, project, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    result = run(pytester, project, "--device", "cuda")
    assert_one_error(result, "*torch sees no CUDA device; use --device cpu")


def test_a_method_on_an_unsupported_architecture_fails_at_collection(pytester, project):
    folder = project["base"] / "foo-model"
    shutil.copytree(project["model"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["FooForCausalLM"]
    (folder / "config.json").write_text(json.dumps(config))
    method = ["--neurons", "lape", "--identify-data", f"text:{project['corpus']}"]
    result = run(pytester, project, "--model", str(folder), *method)
    assert_one_error(result, "unsupported architecture 'FooForCausalLM'; supported: *")
    assert not (pytester.path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "tiyn"], "--tasks: unknown task 'tiyn'; did you mean 'tiny'? known: tiny *"),
        (["--tasks", "tasks"], "--tasks tasks is a folder; give task files or task names"),
        (["--langs", "de,ko"], "--langs: no task has ko *"),
        (["--neurons", "lape,sets/lape.json"], "--neurons lape and sets/lape.json are both *"),
    ],
)
def test_bad_names_fail_at_collection(pytester, project, extra, message):
    (pytester.path / "sets").mkdir()
    shutil.copy(project["neurons"], pytester.path / "sets" / "lape.json")
    assert_one_error(run(pytester, project, *extra), message)


def test_tasks_are_given_by_name(pytester, project):
    result = run(pytester, project, "--tasks", "tiny", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*16 tests collected*"])
