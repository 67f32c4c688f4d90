"""``langneurons identify`` end to end on a tiny model (loads weights: not a unit test)."""

import json
from pathlib import Path

from langneurons.neurons.statistics import load
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


def test_identify_keeps_a_set_per_parameter_choice(tiny_model_folder, tmp_path, monkeypatch):
    """``--param`` identifies another set, cached beside the defaults' set, never over it."""
    monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    corpus = write_text_corpus(tmp_path / "text")
    args = ["identify", "--model", str(tiny_model_folder), "--langs", "en,de,zh"]
    args += ["--data", f"text:{corpus}", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "default.json")]) == 0
    assert main([*args, "--param", "top_rate=0.2", "--out", str(tmp_path / "wide.json")]) == 0
    kept = sorted((tmp_path / "cache" / "neuron_sets").rglob("*.json"))
    assert len(kept) == 2
    by_rate = {json.loads(p.read_text())["method"]["params"]["top_rate"]: p for p in kept}
    assert set(by_rate) == {0.01, 0.2}
    assert by_rate[0.2].read_bytes() == (tmp_path / "wide.json").read_bytes()
