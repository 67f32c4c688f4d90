"""The command line: identify, validate, and one-line errors with exit code 2."""

import json
from pathlib import Path

import pytest

from langneurons.report import results as results_format
from langneurons.run.cli import main
from tests.leaderboard_files import results_1

ROOT = Path(__file__).resolve().parents[2]


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    code = main(["identify", "--model", "nonexistent-model", "--out", str(tmp_path / "x.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("langneurons: error: unknown model 'nonexistent-model'")
        and err.count("\n") == 1
    )
    assert not (tmp_path / "x.json").exists()


def test_validate_rejects_a_bad_set(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "langneurons.neuron_set/9"}))
    assert main(["validate", str(path)]) == 2
    assert "this version reads langneurons.neuron_set/1" in capsys.readouterr().err


def test_validate_reads_a_vector_set_by_its_format(tmp_path, capsys):
    from tests.unit.test_vector_set import GOOD

    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(GOOD))
    assert main(["validate", str(path)]) == 0
    assert f"{path}: vector set" in capsys.readouterr().out
    path.write_text(json.dumps({**GOOD, "hidden_size": 4}))
    assert main(["validate", str(path)]) == 2
    assert "3 numbers; the hidden size is 4" in capsys.readouterr().err


def test_validate_checks_results_files_as_leaderboard_submit_does(tmp_path, capsys):
    filed = sorted((ROOT / "leaderboard" / "submissions").glob("*/*.json"))[0]
    assert main(["validate", str(filed), "--tasks", str(ROOT / "tasks")]) == 0
    data = json.loads(filed.read_text())
    data["tasks"][0]["summary"] = {k: 0.5 for k in data["tasks"][0]["summary"]}
    data["sha256"] = results_format.content_sha256(data)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["validate", str(forged), "--tasks", str(ROOT / "tasks")]) == 2
    assert "summary" in capsys.readouterr().err


def test_validate_names_the_upgrade_of_a_results_1_file(tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(results_1()))
    assert main(["validate", str(old)]) == 2
    assert f"run `langneurons upgrade {old}`" in capsys.readouterr().err


def test_upgrade_rewrites_results_1_in_place_and_leaves_results_3_alone(tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(results_1()))
    assert main(["upgrade", str(old)]) == 0
    assert capsys.readouterr().out == f"{old}: langneurons.results/1 -> langneurons.results/3\n"
    data = json.loads(old.read_text())
    assert data["format"] == "langneurons.results/3" and data["complete"] is None
    assert data["sha256"] == results_format.content_sha256(data)
    assert results_format.load(old).environment["lock"] is None
    written = old.read_bytes()
    assert main(["upgrade", str(old)]) == 0
    assert capsys.readouterr().out == f"{old}: already langneurons.results/3, unchanged\n"
    assert old.read_bytes() == written


def test_upgrade_refuses_a_tampered_file_and_writes_nothing(tmp_path, capsys):
    good, tampered = tmp_path / "good.json", tmp_path / "tampered.json"
    good.write_text(json.dumps(results_1()))
    data = results_1()
    data["tasks"][0]["summary"]["cells"] = 2.0
    tampered.write_text(json.dumps(data))
    before = {path: path.read_bytes() for path in (good, tampered)}
    assert main(["upgrade", str(good), str(tampered)]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"langneurons: error: {tampered}: content does not match its sha256"
        " (edited after the run)\n"
    )
    assert {path: path.read_bytes() for path in (good, tampered)} == before


def test_identify_takes_method_parameters_as_yaml_values(tmp_path):
    import torch

    from langneurons.neurons import sets, statistics
    from tests.unit.test_vector_set import residual_stats

    stats_file, out = tmp_path / "stats.safetensors", tmp_path / "vectors.json"
    statistics.save(
        residual_stats(torch.randn(3, 5, 4, dtype=torch.float64), [5, 6, 7]), stats_file
    )
    args = ["identify", "--stats", str(stats_file), "--method", "diffmean", "--out", str(out)]
    assert main([*args, "--param", "depth=0", "--param", "alpha=2e-1"]) == 0
    assert sets.load(out).method.params == {"depth": 0, "alpha": 0.2, "layer": 0}


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("depth", "write NAME=VALUE"),
        ("depth=[0.5", "not a YAML scalar"),
        ("depth=deep", "parameter 'depth' must be float, got 'deep'"),
        ("layer=3", "method 'diffmean' has no parameter 'layer'"),
        ("alpha=.inf", "parameter 'alpha' must be float, got inf"),
    ],
)
def test_a_bad_method_parameter_is_one_line_before_any_model_loads(
    tmp_path, capsys, param, message
):
    out = tmp_path / "vectors.json"
    args = ["identify", "--model", "nonexistent-model", "--method", "diffmean", "--out", str(out)]
    assert main([*args, "--param", param]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_a_parameter_given_twice_is_refused(tmp_path, capsys):
    out = tmp_path / "v.json"
    args = ["identify", "--method", "diffmean", "--param", "alpha=1", "--param", "alpha=2"]
    assert main([*args, "--out", str(out)]) == 2
    assert "--param alpha is given twice" in capsys.readouterr().err
