"""Headline intervals: recomputed from the cells' per-unit values, paired as the cells' own.

Each expected interval is rebuilt here from the units with numpy alone (the
resampling generator seeded as documented: the task's control seed and the
CRC-32 of the key), so a kind that resampled other units, unpaired, or with
other keys than its cells' would not match.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from langneurons.tasks.protocol import CellResult, task_kind
from langneurons.tasks.spec import load_task
from tests.leaderboard_files import TASKS

WINDOWS = 6


def picks(seed: int, key: str, units: int) -> np.ndarray:
    """The resampled units of ``key``, as docs/formats.md says they are drawn."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return rng.integers(0, units, size=(1000, units))


def bounds(replicates: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(replicates, [0.025, 0.975])
    return float(low), float(high)


def ablation_cells(task, rng: np.random.Generator, effect):
    """Cells with made-up per-window NLLs: ``effect(x, y, nll, tokens)`` is the ablated NLL."""
    cells = {}
    base = {
        y: (rng.integers(40, 64, WINDOWS).astype(float), rng.uniform(2.0, 4.0, WINDOWS))
        for y in task.languages
    }
    for cell in task_kind("ablation").cells(task):
        x, y = cell.params["ablate"], cell.params["eval"]
        tokens, per_token = base[y]
        nll = per_token * tokens
        ablated = effect(x, y, nll, tokens)
        ratio = math.exp((ablated.sum() - nll.sum()) / tokens.sum())
        units = {"tokens": list(tokens), "nll": list(nll), "nll_ablated": list(ablated)}
        metrics = {"ratio": ratio, "control_ratio": 1.0, "neurons": 3.0}
        cells[cell.id] = CellResult(metrics, units=units)
    for x in task.languages:
        others = [cells[f"ablate[{x}]-eval[{y}]"] for y in task.languages if y != x]
        cells[f"ablate[{x}]-eval[{x}]"].metrics["mean_other_ratio"] = float(
            np.mean([o.metrics["ratio"] for o in others])
        )
    return cells


def test_the_specificity_interval_is_a_paired_recomputation_from_the_windows() -> None:
    task = load_task(TASKS / "ablation_perplexity.yaml")
    rng = np.random.default_rng(0)

    def noisy(x, y, nll, tokens):
        return nll * (
            rng.uniform(1.5, 3.0, len(nll)) if x == y else rng.uniform(0.9, 1.2, len(nll))
        )

    cells = ablation_cells(task, rng, noisy)
    scores = task_kind("ablation").summarize(task, cells).scores
    seed = task.fields.control.seed
    log_ratio = {}
    for cell_id, result in cells.items():
        x, y = cell_id.removeprefix("ablate[").removesuffix("]").split("]-eval[")
        chosen = picks(seed, f"{task.name}/{y}", WINDOWS)
        tokens = np.asarray(result.units["tokens"])[chosen].sum(axis=1)
        changed = np.asarray(result.units["nll_ablated"])[chosen].sum(axis=1)
        plain = np.asarray(result.units["nll"])[chosen].sum(axis=1)
        log_ratio[x, y] = (changed - plain) / tokens
    langs = task.languages
    replicates = np.mean(
        [
            log_ratio[x, x] - np.mean([log_ratio[x, y] for y in langs if y != x], axis=0)
            for x in langs
        ],
        axis=0,
    )
    assert (scores["specificity_lo"], scores["specificity_hi"]) == pytest.approx(
        bounds(replicates), rel=1e-12
    )
    assert scores["specificity_lo"] < scores["specificity"] < scores["specificity_hi"]


def test_an_effect_equal_on_every_token_has_an_interval_of_width_zero() -> None:
    # ablated NLL = plain NLL + d per token: every resampling of the windows gives
    # the same ratios, when the plain and ablated windows are resampled together
    task = load_task(TASKS / "ablation_perplexity.yaml")
    shift = {lang: 0.1 * i for i, lang in enumerate(task.languages)}
    cells = ablation_cells(
        task,
        np.random.default_rng(1),
        lambda x, y, nll, tokens: nll + (1.0 if x == y else shift[y]) * tokens,
    )
    scores = task_kind("ablation").summarize(task, cells).scores
    assert scores["specificity_lo"] == pytest.approx(scores["specificity"], abs=1e-12)
    assert scores["specificity_hi"] == pytest.approx(scores["specificity"], abs=1e-12)


def test_cells_without_units_give_the_point_alone() -> None:
    task = load_task(TASKS / "ablation_perplexity.yaml")
    cells = ablation_cells(task, np.random.default_rng(2), lambda x, y, nll, tokens: 2 * nll)
    for result in cells.values():
        result.units.clear()
    scores = task_kind("ablation").summarize(task, cells).scores
    assert "specificity" in scores and "specificity_lo" not in scores


def test_the_mean_success_interval_resamples_each_source_languages_prompts_once() -> None:
    task = load_task(TASKS / "steering.yaml")
    rng = np.random.default_rng(3)
    prompts = task.fields.prompts_per_language
    cells, expected = {}, []
    seed = task.fields.control.seed
    for cell in task_kind("steering").cells(task):
        success = (rng.uniform(size=prompts) < rng.uniform(0.3, 0.9)).astype(float)
        metrics = {
            "success": success.mean(),
            "detected": success.mean(),
            "fluent": 1.0,
            "baseline": 0.0,
            "control": 0.0,
            "ppl_steered": 9.0,
            "generation_seconds": 1.0,
            "generated_tokens": 8.0,
        }
        cells[cell.id] = CellResult(metrics, units={"success": list(success)})
        chosen = picks(seed, f"{task.name}/{cell.params['source']}", prompts)
        expected.append(success[chosen].mean(axis=1))
    scores = task_kind("steering").summarize(task, cells).scores
    low, high = bounds(np.mean(expected, axis=0))
    assert scores["mean_success_lo"] == pytest.approx(low, rel=1e-12)
    assert scores["mean_success_hi"] == pytest.approx(high, rel=1e-12)
