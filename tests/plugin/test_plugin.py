"""The pytest plugin, driven by pytester against a tiny local model and text corpus."""

import json
import math
from pathlib import Path

import pytest

# the kinds register in a registry on first import: import them before pytester's
# snapshot of sys.modules, which would drop them after a test and register them twice
import langneurons.tasks.kinds  # noqa: F401
from langneurons.report import results as results_format
from langneurons.report.leaderboard import spec_of
from langneurons.report.submission import recomputed_metrics, recomputed_summary
from tests.plugin.conftest import args

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


def test_cells_have_readable_ids_and_one_results_file_is_written(pytester, project):
    result = pytester.runpytest_subprocess(*args(project, "-v"))
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["*test_cell?tiny/ablate?zh?-eval?fr?? PASSED*"])
    result.stdout.fnmatch_lines(
        ["*ablate?eval*en*de*fr*zh*", "*results: out/tiny-llama_set_*.json*"]
    )
    files = list((pytester.path / "out").glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["format"] == "langneurons.results/3"
    assert data["model"]["revision"].startswith("local-sha256:")
    assert len(data["tasks"][0]["cells"]) == 16
    assert {"ratio", "control_ratio", "ppl"} <= set(data["tasks"][0]["cells"][0]["metrics"])
    assert data["environment"]["torch"]
    assert data["command"].startswith("pytest ") and " benchmark --model " in data["command"]
    assert data["neuron_set"]["per_layer"]["zh"] == [0, 2]
    assert data["sha256"] == results_format.content_sha256(data)
    assert_headline_interval_is_recomputed(files[0])


def assert_headline_interval_is_recomputed(path: Path) -> None:
    """The file's specificity has an interval, and its cells' units give the same one."""
    parsed = results_format.load(path)
    task = parsed.tasks[0]
    cell = task.cells[0]
    assert len(cell.units["tokens"]) == len(cell.units["nll"]) == cell.metrics["windows"]
    summary = task.summary
    assert summary["specificity_lo"] <= summary["specificity"] <= summary["specificity_hi"]
    spec = spec_of(task)
    assert recomputed_summary(spec, task.cells) == summary


def test_langs_filter_and_xdist_write_one_complete_results_file(pytester, project):
    result = pytester.runpytest_subprocess(*args(project, "--langs", "en,zh", "-n", "2"))
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["langneurons workers: 2 workers share the CPU cores"])
    files = list((pytester.path / "out").glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["model"]["device"] == "cpu"  # both workers ran on it, named once
    cells = data["tasks"][0]["cells"]
    assert sorted(c["id"] for c in cells) == [
        "ablate[en]-eval[en]",
        "ablate[en]-eval[zh]",
        "ablate[zh]-eval[en]",
        "ablate[zh]-eval[zh]",
    ]
    assert_headline_interval_is_recomputed(files[0])  # the units crossed from the workers


def fake_gpus(pytester, count):
    """Make torch in the run's processes report ``count`` CUDA devices (none is used)."""
    pytester.makeconftest(
        "import torch\n"
        "torch.cuda.is_available = lambda: True\n"
        f"torch.cuda.device_count = lambda: {count}\n"
        'pytest_plugins = ["langneurons.run.pytest_plugin"]\n'
    )


@pytest.mark.parametrize(
    ("gpus", "extra", "line"),
    [
        (4, ["-n", "2"], "langneurons workers: gw0 -> cuda:0+1, gw1 -> cuda:2+3"),
        (2, ["-n", "2"], "langneurons workers: gw0 -> cuda:0, gw1 -> cuda:1"),
        (2, ["-n", "3", "--share-gpus"], "*gw0 -> cuda:0, gw1 -> cuda:1, gw2 -> cuda:0"),
    ],
)
def test_each_xdist_worker_is_given_its_own_gpus(pytester, project, gpus, extra, line):
    fake_gpus(pytester, gpus)
    result = pytester.runpytest_subprocess(*args(project, "--collect-only", *extra))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([line])


def test_more_workers_than_gpus_is_refused_unless_asked(pytester, project):
    fake_gpus(pytester, 2)
    result = pytester.runpytest_subprocess(*args(project, "-n", "3"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: pytest -n 3 on 2 GPU(s) would put two workers on one GPU; use -n 2 or fewer*"]
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "gemma-3-27m"], "*unknown model 'gemma-3-27m': did you mean 'gemma-3-270m'*"),
        (["--model", "someone/model"], "*HF_HUB_OFFLINE=1 is set*"),
        (["--langs", "en,xx"], "*--langs: unknown language 'xx'*"),
        (["--neurons", "lapee"], "*unknown method 'lapee'; did you mean 'lape'*"),
        (["--neurons", "missing.json"], "*--neurons missing.json: no such file*"),
    ],
)
def test_bad_input_is_one_error_line_before_any_model_loads(pytester, project, extra, message):
    result = pytester.runpytest_subprocess(*args(project), *extra)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert not (pytester.path / "out").exists()


def test_neuron_set_for_another_model_names_both_shapes(pytester, project, tmp_path):
    data = json.loads(Path(project["neurons"]).read_text())
    data["model"].update(num_layers=18, neurons_per_layer=2048, name="gemma-3-270m")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    result = pytester.runpytest_subprocess(*args(project, "--neurons", str(other)))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: neuron set *other.json is 18 x 2048 (made for gemma-3-270m); model * is 2 x 24"]
    )


def test_malformed_task_file_is_named(pytester, project):
    (pytester.path / "tasks" / "tiny.yaml").write_text(
        "name: tiny\nkind: ablation\nlanguages: [en\n"
    )
    result = pytester.runpytest_subprocess(*args(project))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *tiny.yaml: line * malformed YAML*"])


def test_missing_data_is_named(pytester, project):
    Path(project["corpus"].format(lang="fr", split="evaluate")).unlink()
    result = pytester.runpytest_subprocess(*args(project))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: no text data for 'fr' (evaluate)*"])


def test_a_method_name_identifies_on_the_fly_and_a_second_run_reuses_the_cache(
    pytester, project, tmp_path, monkeypatch
):
    monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    run = args(project, "--neurons", "lape", "--identify-data", f"text:{project['corpus']}")
    first = pytester.runpytest_subprocess(*run)
    first.assert_outcomes(passed=16)
    first.stdout.fnmatch_lines(
        ["*neurons: lape*", "*seconds: load model *, statistics *, identify *"]
    )
    cached = list((tmp_path / "cache" / "statistics").rglob("*.safetensors"))
    identified = list((tmp_path / "cache" / "neuron_sets").rglob("lape-*.json"))
    assert len(cached) == 1 and len(identified) == 1
    stamp = cached[0].stat().st_mtime_ns
    second = pytester.runpytest_subprocess(*run)
    second.assert_outcomes(passed=16)
    assert cached[0].stat().st_mtime_ns == stamp
    results = sorted((pytester.path / "out").glob("*.json"))
    data = json.loads(results[-1].read_text())
    assert data["neuron_set"]["method"]["name"] == "lape"
    assert data["neuron_set"]["source"] == str(identified[0])


def test_several_methods_run_side_by_side_from_one_statistics_pass(
    pytester, project, tmp_path, monkeypatch
):
    monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    run = args(
        project,
        "--neurons",
        "lape,frequency,random",
        "--identify-data",
        f"text:{project['corpus']}",
        "--langs",
        "en,zh",
        "-v",
    )
    result = pytester.runpytest_subprocess(*run)
    result.assert_outcomes(passed=12)
    result.stdout.fnmatch_lines(["*test_cell?frequency/tiny/ablate?zh?-eval?en?? PASSED*"])
    result.stdout.fnmatch_lines(
        [
            "*neuron sets side by side*",
            "score * lape * frequency * random",
            "*",
            "tiny.languages *",
            "tiny.languages_passing *",
            "tiny.max_control_ratio *",
            "tiny.specificity *",
        ]
    )
    assert len(list((tmp_path / "cache" / "statistics").rglob("*.safetensors"))) == 1
    files = sorted((pytester.path / "out").glob("*.json"))
    assert sorted(json.loads(f.read_text())["neuron_set"]["method"]["name"] for f in files) == [
        "frequency",
        "lape",
        "random",
    ]


def test_latent_task_writes_curves_and_figures(pytester, project):
    (pytester.path / "tasks" / "latent.yaml").write_text(
        """name: latent
kind: latent
version: 1
languages: [en, de, fr, zh]
data: {source: concepts, split: evaluate}
cells: {translation: [fr>zh, de>en], repetition: [fr], cloze: [de]}
checks: {min_final_accuracy: 0, min_probe_accuracy: 0, latent_peak_inside: false}
"""
    )
    result = pytester.runpytest_subprocess(*args(project, "--tasks", "tasks/latent.yaml"))
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["*translation?fr>zh?*", "*probe?language?*", "*figure: out/*probe.png"]
    )
    data = json.loads(next((pytester.path / "out").glob("*.json")).read_text())
    cells = {c["id"]: c for c in data["tasks"][0]["cells"]}
    assert set(cells) == {
        "translation[fr>zh]",
        "translation[de>en]",
        "repetition[fr]",
        "cloze[de]",
        "probe[language]",
    }
    fr_zh = cells["translation[fr>zh]"]
    assert len(fr_zh["curves"]["p_target"]) == 2  # one value per layer of the tiny model
    for cell in cells.values():
        if cell["id"] != "probe[language]":
            energy, band = cell["curves"]["energy"], cell["curves"]["energy_band"]
            assert len(energy) == len(band) == 2
            assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in energy + band)
    assert {"target_drop", "control_drop", "latent_peak_layer"} <= set(fr_zh["metrics"])
    assert (
        "p_latent" not in cells["translation[de>en]"]["curves"]
    )  # English target: no latent curve
    probe = cells["probe[language]"]
    assert probe["metrics"]["classes"] == 4
    assert len(probe["units"]["best_hits"]) == probe["metrics"]["test_items"]
    for name in ("best_accuracy", "final_accuracy"):
        metrics = probe["metrics"]
        assert metrics[f"{name}_lo"] <= metrics[name] <= metrics[f"{name}_hi"]
    hits = probe["units"]["final_hits"]
    assert metrics["final_accuracy"] == pytest.approx(sum(hits) / len(hits))
    assert len(fr_zh["units"]["target_drop"]) == fr_zh["metrics"]["items"]
    summary = data["tasks"][0]["summary"]
    low, high = summary["drop_beyond_control_lo"], summary["drop_beyond_control_hi"]
    assert low <= summary["drop_beyond_control"] <= high
    figures = sorted(p.name.split(".", 1)[1] for p in (pytester.path / "out").glob("*.png"))
    assert figures == [
        "latent.cloze.png",
        "latent.energy.png",
        "latent.probe.png",
        "latent.repetition.png",
        "latent.translation.png",
    ]


def test_downstream_task_reports_lm_eval_accuracy_drops(pytester, project):
    pytest.importorskip("lm_eval")
    (pytester.path / "tasks" / "downstream.yaml").write_text(
        """name: downstream
kind: downstream
version: 1
languages: [en, fr]
data: {source: concepts, split: evaluate}
limit: 8
checks: {min_own_drop: -1, max_other_drop: 1, max_control_drop: 1}
"""
    )
    result = pytester.runpytest_subprocess(*args(project, "--tasks", "tasks/downstream.yaml"))
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*acc drop (baseline - ablated)*", "*ablate?eval*en*fr*baseline*"])
    data = json.loads(next((pytester.path / "out").glob("*.json")).read_text())
    cell = data["tasks"][0]["cells"][0]
    assert cell["params"]["lm_eval_task"] == "langneurons_concepts_en"
    assert cell["metrics"]["samples"] == 8
    assert cell["metrics"]["drop"] == cell["metrics"]["baseline"] - cell["metrics"]["ablated"]
    assert data["environment"]["lm_eval"]
    assert len(cell["info"]["lm_eval_config_sha256"]) == 64
    assert len(cell["units"]["drop"]) == 8
    summary = data["tasks"][0]["summary"]
    assert summary["specificity_lo"] <= summary["specificity"] <= summary["specificity_hi"]


def test_a_vector_method_runs_on_every_task_kind_beside_a_neuron_method(
    pytester, project, tmp_path, monkeypatch
):
    """``--neurons lape,diffmean``: both on the same cells, the vectors' controls random directions."""
    pytest.importorskip("lm_eval")
    monkeypatch.setenv("LANGNEURONS_CACHE", str(tmp_path / "cache"))
    tasks = pytester.path / "tasks"
    (tasks / "steer.yaml").write_text(
        """name: steer
kind: steering
version: 1
languages: [en, zh]
data: {source: prompts, split: evaluate}
prompts_per_language: 2
max_new_tokens: 4
control: {seed: 0, draws: 2}
checks: {min_success: 0, max_baseline: 1, max_control: 1}
"""
    )
    (tasks / "latent.yaml").write_text(
        """name: latent
kind: latent
version: 1
languages: [en, zh]
data: {source: concepts, split: evaluate}
cells: {translation: [en>zh]}
checks: {min_final_accuracy: 0, min_probe_accuracy: 0, latent_peak_inside: false}
"""
    )
    (tasks / "downstream.yaml").write_text(
        """name: downstream
kind: downstream
version: 1
languages: [en, zh]
data: {source: concepts, split: evaluate}
limit: 4
checks: {min_own_drop: -1, max_other_drop: 1, max_control_drop: 1}
"""
    )
    run = args(
        project, "--neurons", "lape,diffmean", "--identify-data", f"text:{project['corpus']}"
    )
    result = pytester.runpytest_subprocess(*run, "--langs", "en,zh")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] > 0
    files = {
        json.loads(f.read_text())["neuron_set"]["method"]["name"]: json.loads(f.read_text())
        for f in (pytester.path / "out").glob("*.json")
    }
    assert set(files) == {"lape", "diffmean"}
    vectors = files["diffmean"]
    assert vectors["neuron_set"]["neurons"] == {"en": 1, "zh": 1}  # one direction each
    assert (
        vectors["neuron_set"]["kind"] == "vectors"
        and files["lape"]["neuron_set"]["kind"] == "neurons"
    )
    written = list((tmp_path / "cache" / "neuron_sets").rglob("diffmean-*.json"))
    assert json.loads(written[0].read_text())["format"] == "langneurons.vector_set/1"
    by_task = {t["name"]: t for t in vectors["tasks"]}
    assert set(by_task) == {"tiny", "steer", "latent", "downstream"}
    for task in by_task.values():
        assert task["cells"]
        for cell in task["cells"]:
            assert all(math.isfinite(v) for v in cell["metrics"].values())
    ablated = {c["id"]: c["metrics"] for c in by_task["tiny"]["cells"]}
    own = ablated["ablate[zh]-eval[zh]"]
    assert own["ratio"] != 1.0 and own["control_ratio"] != own["ratio"]
    steered = by_task["steer"]["cells"][0]["units"]
    assert "control_1" in steered  # two random-direction draws
    for data in files.values():  # what leaderboard submit recomputes, for both kinds of set
        for task in results_format.Results.model_validate(data).tasks:
            for cell in task.cells:
                given = recomputed_metrics(spec_of(task), task.cells, cell.id)
                assert given, (task.name, cell.id)
                assert {k: cell.metrics[k] for k in given} == pytest.approx(given, rel=1e-12)
