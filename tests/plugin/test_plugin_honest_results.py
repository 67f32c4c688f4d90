"""Results files never pass a NaN and say whether the run was complete."""

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from langneurons.report import results as results_format
from langneurons.tasks.protocol import CellResult, fail_non_finite
from tests.plugin.conftest import args

pytest_plugins = ["pytester"]


def test_a_nan_or_infinite_metric_fails_its_cell_and_names_it():
    result = fail_non_finite(
        CellResult({"ppl": float("nan"), "ratio": float("inf"), "tokens": 24.0}, ["own ratio"])
    )
    assert result.failures == [
        "own ratio",
        "metric ppl is nan (not finite)",
        "metric ratio is inf (not finite)",
    ]
    curves = fail_non_finite(CellResult({"acc": 1.0}, curves={"p": [0.1, float("nan")]}))
    assert curves.failures == ["curve p has non-finite values"]
    clean = CellResult({"acc": 1.0}, curves={"p": [0.1]})
    assert fail_non_finite(clean) is clean


def _results(pytester):
    files = list((pytester.path / "out").glob("*.json"))
    assert len(files) == 1
    return files[0], json.loads(files[0].read_text())


def test_a_model_that_computes_nan_fails_every_cell_and_its_file_holds_null(
    pytester, project, tmp_path
):
    weights = project_model_with_nan(project["model"], tmp_path)
    result = pytester.runpytest_subprocess(*args({**project, "model": weights}))
    result.assert_outcomes(failed=16)
    result.stdout.fnmatch_lines(["*metric ppl is nan (not finite)*"])
    path, data = _results(pytester)
    cells = data["tasks"][0]["cells"]
    assert not any(cell["passed"] for cell in cells)
    assert all(cell["metrics"]["ppl"] is None for cell in cells)
    assert "NaN" not in path.read_text()
    results_format.load(path)  # strict JSON, and it validates


def project_model_with_nan(folder, tmp_path):
    copy = tmp_path / "nan-model"
    copy.mkdir()
    for item in Path(folder).iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    weights = copy / "model.safetensors"
    tensors = load_file(weights)
    name = next(k for k in tensors if "norm" in k and "layers" not in k)
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, weights, metadata={"format": "pt"})
    return str(copy)


def test_a_passed_cell_with_a_null_metric_or_a_nan_literal_is_not_a_results_file(pytester, project):
    pytester.runpytest_subprocess(*args(project)).assert_outcomes(passed=16)
    _, data = _results(pytester)
    assert data["complete"] is True
    data["tasks"][0]["cells"][0]["metrics"]["ppl"] = None
    with pytest.raises(results_format.FormatError, match="passed with non-finite ppl"):
        results_format.from_dict(data)
    data["tasks"][0]["cells"][0]["metrics"]["ppl"] = float("nan")
    with pytest.raises(results_format.FormatError, match="finite number"):
        results_format.from_dict(data)


INTERRUPT_AFTER_3 = """
pytest_plugins = ["langneurons.run.pytest_plugin"]
ran = []


def pytest_runtest_teardown(item):
    ran.append(item)
    if len(ran) == 3:
        raise KeyboardInterrupt
"""


def test_an_interrupted_run_keeps_its_finished_cells_and_says_it_is_incomplete(pytester, project):
    pytester.makeconftest(INTERRUPT_AFTER_3)
    result = pytester.runpytest_subprocess(*args(project))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*results: out/*.json (incomplete: not every planned cell ran)*"])
    _, data = _results(pytester)
    assert data["complete"] is False
    assert len(data["tasks"][0]["cells"]) == 3


CRASH_WORKER = """
import os

pytest_plugins = ["langneurons.run.pytest_plugin"]
ran = []


def pytest_runtest_teardown(item):
    ran.append(item)
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw1" and len(ran) == 2:
        os._exit(1)
"""


def test_cells_a_crashed_worker_finished_are_kept(pytester, project):
    """gw1 dies after its second cell: the cells it reported are in the results file."""
    pytester.makeconftest(CRASH_WORKER)
    result = pytester.runpytest_subprocess(
        *args(project, "-n", "2", "--max-worker-restart", "0", "-v")
    )
    result.stdout.fnmatch_lines(["*worker gw1 crashed*"])
    by_gw1 = re.findall(r"\[gw1\] \[ *\d+%\] PASSED \S+test_cell\[(\S+)\]", result.stdout.str())
    assert len(by_gw1) == 2
    _, data = _results(pytester)
    ids = [cell["id"] for cell in data["tasks"][0]["cells"]]
    assert len(ids) == len(set(ids))
    assert {test_id.removeprefix("tiny/") for test_id in by_gw1} <= set(ids)
    assert data["complete"] is (len(ids) == 16)


def test_deselected_cells_are_not_missing_but_a_run_stopped_by_x_is_incomplete(pytester, project):
    pytester.runpytest_subprocess(*args(project, "-k", "not zh")).assert_outcomes(passed=9)
    path, data = _results(pytester)
    assert data["complete"] is True and len(data["tasks"][0]["cells"]) == 9
    path.unlink()
    task = pytester.path / "tasks" / "tiny.yaml"
    task.write_text(task.read_text().replace("min_own_ratio: 0.0001", "min_own_ratio: 1000"))
    result = pytester.runpytest_subprocess(*args(project, "-x"))
    result.assert_outcomes(failed=1)
    _, data = _results(pytester)
    assert data["complete"] is False and len(data["tasks"][0]["cells"]) == 1
