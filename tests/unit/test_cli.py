"""The command line: identify, validate, and one-line errors with exit code 2."""

import json
from pathlib import Path

from langneurons.neurons.statistics import load
from langneurons.report import results as results_format
from langneurons.run.cli import main
from tests.synthetic import write_text_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_identify_writes_a_valid_set_for_the_model(tiny_model_folder, tmp_path, capsys):
    corpus = write_text_corpus(tmp_path / "text")
    out = tmp_path / "lape.json"
    code = main(
        [
            "identify",
            "--method",
            "lape",
            "--model",
            str(tiny_model_folder),
            "--langs",
            "en,de,fr,zh",
            "--data",
            f"text:{corpus}",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--stats-out",
            str(tmp_path / "stats.safetensors"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["model"]["num_layers"] == 2 and data["model"]["neurons_per_layer"] == 24
    assert list(data["languages"]) == ["en", "de", "fr", "zh"]
    stats = load(tmp_path / "stats.safetensors")  # the lm-eval model's steering values
    assert stats.languages == ("en", "de", "fr", "zh") and stats.sums is not None
    assert tuple(stats.sums.shape) == (4, 2, 24)
    assert main(["validate", str(out), str(ROOT / "tasks" / "ablation_perplexity.yaml")]) == 0


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
