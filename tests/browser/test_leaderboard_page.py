"""The leaderboard page in a real browser: headless Chromium opens index.html from disk.

Chromium comes from Debian's ``chromium`` package (``make test`` installs it
where missing); without it the test is skipped with that reason. The screenshot
of the detail view is saved under ``test-artifacts/`` (kept by CI, ignored by git).
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from langneurons.report import leaderboard
from langneurons.report.submission import submit
from tests.leaderboard_files import ROOT, TASKS, results_file

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test: make test installs chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    board = tmp_path / "board"
    for method, sha, score in (("random", "b", 0.1), ("lape", "c", 1.0), ("frequency", "d", 0.5)):
        submit(
            results_file(tmp_path / method, method=method, sha=sha * 64, score=score), board, TASKS
        )
    results_file(tmp_path / "other", model="smollm2-135m", sha="e" * 64)
    submit(next((tmp_path / "other").glob("*.json")), board, TASKS)
    leaderboard.build(board)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1300, "height": 1100})
        tab.goto((board / "index.html").as_uri())
        yield tab
        browser.close()


def methods(tab):
    return tab.locator("#rows tr td:nth-child(3)").all_inner_texts()


def test_the_table_shows_every_entry_and_sorts_by_a_clicked_column(page):
    assert page.locator("#rows tr").count() == 4
    assert methods(page)[0] == "lape"  # best rank first
    page.locator("#header th", has_text="method").click()
    assert methods(page) == ["frequency", "lape", "lape", "random"]
    page.locator("#header th", has_text="method").click()
    assert methods(page) == ["random", "lape", "lape", "frequency"]


def test_filters_keep_matching_rows(page):
    page.select_option("#model-filter", "smollm2-135m")
    assert page.locator("#rows tr").count() == 1
    assert page.locator("#count").inner_text() == "1 of 4 entries"


def matrix_row(tab, method):
    return tab.locator("#matrix-rows tr", has_text=method).first.locator("td").all_inner_texts()


def test_the_matrix_view_shows_each_method_by_model_and_switches_task(page):
    header = page.locator("#matrix-header th").all_inner_texts()
    assert header == ["method", "gemma-3-270m", "smollm2-135m"]
    assert page.locator("#matrix-task").input_value() == "ablation_perplexity"
    # specificity = score: lape 1.0 on gemma, the best there (bold); lape 1.0 on smollm2 too
    assert matrix_row(page, "lape") == ["lape", "1.000", "1.000"]
    assert matrix_row(page, "random") == ["random", "0.100", "-"]
    assert page.locator("#matrix-rows td.best").all_inner_texts() == ["1.000", "1.000"]
    page.select_option("#matrix-task", "steering")  # mean success = score / 2
    assert matrix_row(page, "frequency") == ["frequency", "0.250", "-"]
    assert matrix_row(page, "lape") == ["lape", "0.500", "0.500"]


def test_the_model_facts_come_from_the_files_and_the_alias_they_ran(page):
    rows = [tr.locator("td").all_inner_texts() for tr in page.locator("#models-rows tr").all()]
    assert rows[0] == [
        "gemma-3-270m",
        "gemma3",
        "268M",
        "base",
        "dequantised from Q4_K_M",
        "4 x 8",
        "float32",
    ]
    # a file that names smollm2-135m but ran another source gets no alias facts
    assert rows[1][:5] == ["smollm2-135m", "gemma3", "-", "-", "-"]


def test_a_row_opens_its_detail_view_with_the_heatmap(page):
    page.locator("#rows tr").first.click()
    assert page.locator("#detail").is_visible()
    assert page.locator("#detail-command code").inner_text().startswith("pytest benchmark/ --model")
    assert (
        page.locator('[data-task="ablation_perplexity"] rect').count() == 81
    )  # 9 x 9 ablation cells
    assert page.locator('[data-task="steering"] rect').count() == 16
    assert page.locator('[data-task="latent_language"] polyline').count() > 0
    assert page.locator('.plot[data-task=""] polyline').count() == 2
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard.png"), full_page=True)
    assert Path(ARTIFACTS / "leaderboard.png").stat().st_size > 10_000


def test_the_repositorys_leaderboard_shows_every_filed_entry():
    from playwright.sync_api import sync_playwright

    filed = sorted((ROOT / "leaderboard" / "submissions").glob("*/*.json"))
    if not filed:
        pytest.skip("no entries filed yet")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1300, "height": 1100})
        tab.goto((ROOT / "leaderboard" / "index.html").as_uri())
        assert tab.locator("#rows tr").count() == len(filed)
        tab.locator("#rows tr").first.click()
        assert tab.locator('[data-task="ablation_perplexity"] rect').count() == 81
        # filed entries carry intervals: the heatmap's cells name theirs, the bars draw them
        cell = tab.locator('[data-task="ablation_perplexity"] rect title').first
        assert cell.text_content().endswith("(95 %)")
        assert tab.locator('[data-task="steering"] line.interval').count() == 16
        # every headline score of a filed entry carries its interval, in the table and the matrix
        scores = tab.locator("#rows tr").first.locator("td").all_inner_texts()[4:8]
        assert all(re.fullmatch(r"-?\d+\.\d{3} \[-?\d+\.\d{3}, -?\d+\.\d{3}\]", s) for s in scores)
        assert "[" in tab.locator("#matrix-rows td.best").first.inner_text()
        tab.select_option("#matrix-task", "steering")
        assert "[" in tab.locator("#matrix-rows td.best").first.inner_text()
        assert tab.locator('.plot[data-task=""] polyline').count() > 0
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "leaderboard-entries.png"), full_page=True)
        browser.close()
