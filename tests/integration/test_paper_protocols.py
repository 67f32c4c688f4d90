"""The papers' protocols (``tasks/paper/``) and the identification budget, on a tiny model.

Local folders in the hub's shape stand in for the hub; the budgets are checked
with the tokenizer before the model loads (so not unit tests).
"""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from langneurons.errors import LangneuronsError
from langneurons.neurons.statistics import load
from langneurons.run.cli import main
from langneurons.run.session import BenchmarkSession
from langneurons.tasks.spec import load_task
from tests.synthetic import model_copy, session_fails, write_text_corpus

ROOT = Path(__file__).resolve().parents[2]


def write_wikipedia(folder: Path, languages, articles: int) -> Path:
    """A local folder in the hub's Wikipedia shape, ``articles`` rows per language."""
    for lang in languages:
        rows = folder / f"20231101.{lang}" / "train.jsonl"
        rows.parent.mkdir(parents=True)
        text = [{"id": str(i), "text": f"Article {i}.\n\nMore {i}."} for i in range(articles)]
        rows.write_text("".join(json.dumps(row) + "\n" for row in text))
    return folder


def test_lape_protocol_is_its_evaluation_and_refuses_a_short_local_folder_first(
    run, tiny_model_folder, tmp_path
):
    """tasks/paper/lape_ablation.yaml: LAPE's seven languages, 2^20 tokens in 4096-token windows."""
    pytest.importorskip("datasets")

    shipped = ROOT / "tasks" / "paper" / "lape_ablation.yaml"
    fields = load_task(shipped).fields
    assert (fields.data.source, fields.data.split) == ("wikipedia", "evaluate")
    assert (fields.tokens_per_language, fields.window) == (2**20, 4095)
    assert fields.languages == ["en", "zh", "fr", "es", "vi", "id", "ja"]
    folder = write_wikipedia(tmp_path / "wiki", fields.languages, articles=4)
    llama2 = model_copy(tiny_model_folder, tmp_path / "model", max_position_embeddings=4096)
    local = tmp_path / "lape_ablation.yaml"
    local.write_text(
        shipped.read_text().replace("split: evaluate", f"split: evaluate\n  path: {folder}")
    )
    options = replace(run["options"], model=str(llama2), tasks=(local,), langs=("en", "zh"))
    session_fails(
        options,
        rf"{re.escape(str(local))}: en text \(wikipedia:{re.escape(str(folder))}, evaluate\) has \d+ tokens, fewer than the 1048576",
    )


def test_identify_tokens_are_checked_before_the_model_loads(run):
    corpus = run["options"].identify_data
    options = replace(run["options"], neurons="lape", identify_tokens=10**6)
    session_fails(
        options,
        rf"--identify-tokens: en text \({re.escape(corpus)}, identify\) has \d+ tokens, fewer than the 1000000",
    )
    session_fails(
        replace(options, identify_tokens=0), "--identify-tokens must be at least 1, got 0"
    )
    session_fails(
        replace(options, identify_window=0), "--identify-window must be at least 1, got 0"
    )


def test_identify_takes_its_token_budget_and_window_and_records_them(tiny_model_folder, tmp_path):
    corpus = write_text_corpus(tmp_path / "text")
    stats_file = tmp_path / "stats.safetensors"
    args = ["identify", "--model", str(tiny_model_folder), "--langs", "en,de", "--device", "cpu"]
    args += ["--data", f"text:{corpus}", "--tokens", "40", "--window", "16"]
    assert main([*args, "--out", str(tmp_path / "lape.json"), "--stats-out", str(stats_file)]) == 0
    stats = load(stats_file)
    assert stats.tokens.tolist() == [40, 40]
    assert (stats.provenance["max_tokens"], stats.provenance["window"]) == (40, 16)


def test_a_budget_past_200_articles_makes_the_run_read_more(run, tiny_model_folder, tmp_path):
    """The task's budget reaches the Wikipedia reader: 200 articles are short of it, more are not."""
    pytest.importorskip("datasets")
    from langneurons.text.corpus import CorpusSpec, paragraphs
    from langneurons.text.windows import check_budget
    from tests.synthetic import tiny_tokenizer

    folder = write_wikipedia(tmp_path / "wiki", ["en"], articles=1200)
    tokenizer = tiny_tokenizer()
    first = paragraphs(CorpusSpec("wikipedia", str(folder)), "en", "evaluate")
    budget = sum(len(tokenizer(p + "\n\n", add_special_tokens=False)["input_ids"]) for p in first)
    budget += 100
    with pytest.raises(LangneuronsError, match="fewer than"):
        check_budget(tokenizer, first, budget, "200 articles")
    shipped = (ROOT / "tasks" / "paper" / "lape_ablation.yaml").read_text()
    local = tmp_path / "lape_ablation.yaml"
    local.write_text(
        shipped.replace("split: evaluate", f"split: evaluate\n  path: {folder}")
        .replace("tokens_per_language: 1048576", f"tokens_per_language: {budget}")
        .replace("window: 4095", "window: 64")
    )
    BenchmarkSession(replace(run["options"], tasks=(local,), langs=("en",)))


def test_windows_longer_than_the_model_positions_are_refused(run, tiny_model_folder, tmp_path):
    """With BOS a window takes one position more than its tokens (learned positions crash past it)."""
    folder = model_copy(tiny_model_folder, tmp_path / "narrow", max_position_embeddings=12)
    session_fails(
        replace(run["options"], model=str(folder)),
        rf"{re.escape(str(run['task']))}: window 12 needs 13 positions with BOS, more than model '{re.escape(str(folder))}' has "
        r"\(12\); use at most 11$",
    )
    folder = model_copy(tiny_model_folder, tmp_path / "wide", max_position_embeddings=13)
    BenchmarkSession(replace(run["options"], model=str(folder)))
    session_fails(
        replace(run["options"], model=str(folder), neurons="lape", identify_window=13),
        "--identify-window 13 needs 14 positions with BOS",
    )
