"""A benchmark project for pytester: the real ablation check, a task on local text, a tiny model."""

import shutil
from pathlib import Path

import pytest

from tests.synthetic import TINY_ABLATION_TASK, tiny_neuron_set, write_text_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tiny_model_folder, pytester, tmp_path_factory):
    """A benchmark folder with the real check module, a task named 'tiny' on local text.

    The model comes first: pytester drops modules imported during a test, and torch
    cannot import its compiler modules twice.
    """
    base = tmp_path_factory.mktemp("assets")
    model = tiny_model_folder
    corpus = write_text_corpus(base / "text")
    neurons = tiny_neuron_set(base, model)
    pytester.makeconftest('pytest_plugins = ["langneurons.run.pytest_plugin"]')
    pytester.makeini("[pytest]\n")
    (pytester.path / "benchmark").mkdir()
    shutil.copy(ROOT / "benchmark" / "test_tasks.py", pytester.path / "benchmark")
    (pytester.path / "tasks").mkdir()
    (pytester.path / "tasks" / "tiny.yaml").write_text(
        TINY_ABLATION_TASK.format(name="tiny", corpus=corpus)
    )
    return {"model": str(model), "neurons": str(neurons), "corpus": corpus, "base": base}


def args(project, *extra):
    """The command line of a benchmark run on the project, results in ./out."""
    return [
        "benchmark",
        "--model",
        project["model"],
        "--neurons",
        project["neurons"],
        "--results-dir",
        "out",
        "-p",
        "no:cacheprovider",
        *extra,
    ]
