"""Ablation: per-language perplexity when a language's neurons are zeroed (Tang et al. 2024).

Cells are pairs ``ablate[X]-eval[Y]``. Each cell measures, on language Y's
held-out text, the perplexity of the unmodified model, with X's neurons zeroed,
and with random control sets of the same per-layer counts as X's zeroed
(``control.draws`` of them: the cell reports their mean ratio and its spread).
The PPL ratio (ablated / unmodified) is the effect; a language-specific set
raises its own language's ratio far more than the others'. Every ratio carries
a 95 % bootstrap interval over Y's windows, paired across conditions, and the
control's also over its draws (:mod:`langneurons.tasks.uncertainty`).

Checks (from the task's ``checks``; each on the point estimate, or on its
interval's bound where listed in ``use_bound``):

- diagonal cells (X = Y): own ratio >= ``min_own_ratio`` and the mean ratio over
  the other languages when X is ablated <= ``max_other_ratio``;
- every cell: the control's mean ratio <= ``max_control_ratio``.

The reference is ``ppl.py`` of RUCAIBox/Language-Specific-Neurons (zeroing with
``index_fill_`` at the activation output, mean token NLL per language).
Deliberate differences: every window starts with BOS, which is neither scored
nor ablated (it is an attention sink, not text; in the reference most windows
start mid-document without one, and zeroing a neuron at BOS can cost a model
like Gemma 3 more than any text neuron does); the text is the held-out split of
the task's source (the LibreOffice help, and UDHR as a second domain, in the
shipped tasks; not Wikipedia) with a token budget per language declared in the task. Each (condition, language) perplexity is computed
once and shared by every cell that needs it; a condition whose set is empty
reuses the unmodified result.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from langneurons.columns import estimate, matrix
from langneurons.neurons.controls import control_draw
from langneurons.tasks.checks import Checks, Rule, diagonal, failures
from langneurons.tasks.context import RunContext
from langneurons.tasks.perplexity import NLL, nll
from langneurons.tasks.protocol import (
    KINDS,
    Cell,
    CellResult,
    Figure,
    Headline,
    Summary,
    UnitsOf,
    View,
    task_kind,
)
from langneurons.tasks.spec import ControlSpec, TaskFields, TaskSpec, budget_where
from langneurons.tasks.uncertainty import (
    RESAMPLES,
    draw_indices,
    interval,
    point_and_bounds,
    spread,
    unit_indices,
    with_interval,
)
from langneurons.tasks.under_test import ablation, is_empty, size
from langneurons.text.corpus import paragraphs
from langneurons.text.windows import Window, windows


class AblationChecks(Checks):
    """Thresholds that make a cell pass."""

    BOUNDED = frozenset({"min_own_ratio", "max_other_ratio", "max_control_ratio"})

    min_own_ratio: float = Field(gt=0, description="own-language PPL ratio must reach this")
    max_other_ratio: float = Field(
        gt=0, description="mean ratio on the other languages must stay below"
    )
    max_control_ratio: float = Field(gt=0, description="every control ratio must stay below")


class AblationSpec(TaskFields):
    """Spec of an ablation task."""

    kind: Literal["ablation"]
    tokens_per_language: int = Field(ge=1, description="text tokens scored per language")
    window: int = Field(default=512, ge=8, description="text tokens per model input")
    control: ControlSpec = ControlSpec()
    checks: AblationChecks

    def token_budget(self) -> int:
        """Text tokens scored per language."""
        return self.tokens_per_language

    def input_tokens(self) -> int:
        """Text tokens per window."""
        return self.window


#: (what is zeroed, whose set, which control draw)
Condition = tuple[Literal["none", "ablate", "control"], str, int]


class Ablation:
    """The ablation task kind."""

    name = "ablation"
    spec_model = AblationSpec
    headline = Headline("specificity", "specificity")

    def cells(self, task: TaskSpec[AblationSpec]) -> list[Cell]:
        """One cell per (ablated, evaluated) language pair, grouped by ablated language."""
        return [
            Cell(task.name, _cell_id(x, y), {"ablate": x, "eval": y})
            for x in task.languages
            for y in task.languages
        ]

    def preflight(self, task: TaskSpec[AblationSpec], trust_task_code: bool) -> None:
        """Nothing to check: the task runs no code of its own."""

    def evaluator(
        self, task: TaskSpec[AblationSpec], context: RunContext
    ) -> Callable[[Cell], CellResult]:
        """Return a cell evaluator that shares perplexities between cells."""
        return _Evaluator(task, context).evaluate

    def failures(
        self, task: TaskSpec[AblationSpec], cell: Cell, metrics: Mapping[str, float]
    ) -> list[str]:
        """The control check in every cell; own and others' ratios on the diagonal."""
        return failures(RULES, task.fields.checks, cell, metrics)

    def unit_metrics(
        self, task: TaskSpec[AblationSpec], cell: Cell, units: UnitsOf
    ) -> dict[str, float]:
        """Perplexities, ratios and their intervals from the windows' NLLs.

        On the diagonal also the mean ratio on the other languages with X ablated,
        from the units of those cells (``ablate[X]-eval[Z]``).
        """
        x, y = cell.params["ablate"], cell.params["eval"]
        control = task.fields.control
        own = units(cell.id)
        keys = [f"nll_control_{i}" for i in range(control.draws)]
        base = _perplexity(own, "nll")
        controls = [_perplexity(own, key) for key in keys]
        control_ratios = [c / base for c in controls]
        metrics: dict[str, float] = {
            "ppl": base,
            "ppl_ablated": _perplexity(own, "nll_ablated"),
            "ppl_control": float(np.mean(controls)),
            "tokens": float(sum(own["tokens"])),
            "windows": float(len(own["tokens"])),
            "control_draws": float(control.draws),
            "control_ratio_sd": spread(control_ratios),
        }
        ratio = np.exp(_log_ratios(task, y, own, "nll_ablated"))
        with_interval(metrics, "ratio", metrics["ppl_ablated"] / base, ratio)
        per_draw = np.stack([np.exp(_log_ratios(task, y, own, key)) for key in keys])
        picks = draw_indices(control.draws, control.seed, f"{task.name}/{x}")
        with_interval(
            metrics,
            "control_ratio",
            float(np.mean(control_ratios)),
            np.take_along_axis(per_draw, picks.T, axis=0).mean(axis=0),
        )
        if x == y:
            others = [(z, units(_cell_id(x, z))) for z in task.languages if z != x]
            points = [_perplexity(u, "nll_ablated") / _perplexity(u, "nll") for _, u in others]
            replicates = (
                np.mean([np.exp(_log_ratios(task, z, u, "nll_ablated")) for z, u in others], axis=0)
                if others
                else np.ones(RESAMPLES)
            )
            point = sum(points) / len(points) if points else 1.0
            with_interval(metrics, "mean_other_ratio", point, replicates)
        return metrics

    def figures(
        self, task: TaskSpec[AblationSpec], results: Mapping[str, CellResult]
    ) -> list[Figure]:
        """None: the summary table says it all."""
        return []

    def summarize(self, task: TaskSpec[AblationSpec], results: Mapping[str, CellResult]) -> Summary:
        """PPL-ratio matrix, per-language verdicts and the specificity score."""
        langs = task.languages
        checks: AblationChecks = task.fields.checks

        def metric(x: str, y: str, name: str) -> float | None:
            result = results.get(_cell_id(x, y))
            return None if result is None else result.metrics[name]

        diagonal = {x: results[_cell_id(x, x)] for x in langs if _cell_id(x, x) in results}
        controls = [r.metrics["control_ratio"] for r in results.values()]
        scores: dict[str, float] = {}
        if diagonal:
            scores["specificity"] = sum(
                math.log(d.metrics["ratio"]) - _mean_log_other(x, langs, metric)
                for x, d in diagonal.items()
            ) / len(diagonal)
            if all(r.units for r in results.values()):
                low, high = interval(_specificity_replicates(task, results))
                scores["specificity_lo"], scores["specificity_hi"] = low, high
            scores["languages_passing"] = float(sum(d.passed for d in diagonal.values()))
            scores["languages"] = float(len(diagonal))
        if controls:
            scores["max_control_ratio"] = max(controls)
        text = matrix(
            "ablate\\eval",
            langs,
            langs,
            lambda x, y: metric(x, y, "ratio"),
            extra=[
                ("own [95 %]", lambda x: _estimate(diagonal.get(x), "ratio")),
                ("others [95 %]", lambda x: _estimate(diagonal.get(x), "mean_other_ratio")),
                ("control max", lambda x: _fmt_max([metric(x, y, "control_ratio") for y in langs])),
                ("neurons", lambda x: _fmt_int(metric(x, x, "neurons"))),
                (
                    "pass",
                    lambda x: ("yes" if diagonal[x].passed else "no") if x in diagonal else "-",
                ),
            ],
        )
        bounded = set(checks.use_bound)
        legend = (
            f"PPL ratio (ablated / unmodified) on {task.fields.data.source} "
            f"{task.fields.data.split}; [95 % bootstrap interval over windows]; control: mean "
            f"of {task.fields.control.draws} random draws; pass: "
            f"own{_bound_label('min_own_ratio', bounded)} >= {checks.min_own_ratio}, "
            f"others{_bound_label('max_other_ratio', bounded)} <= {checks.max_other_ratio}, "
            f"control{_bound_label('max_control_ratio', bounded)} <= {checks.max_control_ratio}"
        )
        control_lines = [
            f"  ablate[{x}]: mean {_estimate(diagonal[x], 'control_ratio')}, "
            f"sd over draws {diagonal[x].metrics['control_ratio_sd']:.3f}"
            for x in langs
            if x in diagonal and "control_ratio_sd" in diagonal[x].metrics
        ]
        if control_lines:
            legend_tail = "control ratio on the ablated language itself:\n" + "\n".join(
                control_lines
            )
        else:
            legend_tail = ""
        return Summary(scores, "\n".join(part for part in (legend, text, legend_tail) if part))

    def detail(self, task: TaskSpec[AblationSpec], results: Mapping[str, CellResult]) -> list[View]:
        """The PPL-ratio heatmap."""
        rows = [
            [
                c.params["ablate"],
                c.params["eval"],
                *point_and_bounds(results[c.id].metrics, "ratio"),
            ]
            for c in self.cells(task)
            if c.id in results
        ]
        # two tasks of this kind (the help, the UDHR) each draw one: the title names the text
        data = task.fields.data
        title = f"PPL ratio on {data.source}, ablated language (rows) x evaluated language"
        return [View("heatmap", title, rows, scale="log", legend="PPL ratio")]


RULES = (
    Rule("max_control_ratio", "control_ratio", "control ratio"),
    Rule("min_own_ratio", "ratio", "own ratio", diagonal("ablate", "eval")),
    Rule(
        "max_other_ratio",
        "mean_other_ratio",
        "mean ratio on other languages",
        diagonal("ablate", "eval"),
    ),
)


def _cell_id(ablated: str, evaluated: str) -> str:
    return f"ablate[{ablated}]-eval[{evaluated}]"


def _mean_log_other(
    x: str, langs: list[str], metric: Callable[[str, str, str], float | None]
) -> float:
    values = [metric(x, y, "ratio") for y in langs if y != x]
    logs = [math.log(v) for v in values if v is not None]
    return sum(logs) / len(logs) if logs else 0.0


def _specificity_replicates(
    task: TaskSpec[AblationSpec], results: Mapping[str, CellResult]
) -> np.ndarray:
    """Bootstrap replicates of the specificity, from the cells' per-window NLLs.

    Each evaluated language's windows are resampled as its cells' ratios were
    (the same key and seed), so replicate b is the specificity of one
    resampling of every language's text (the point: the same statistic on the
    text as it is).
    """
    log_ratios: dict[tuple[str, str], np.ndarray] = {}
    for cell in Ablation().cells(task):
        found = results.get(cell.id)
        if found is not None:
            x, y = cell.params["ablate"], cell.params["eval"]
            log_ratios[x, y] = _log_ratios(task, y, found.units, "nll_ablated")
    per_language = []
    for x in task.languages:
        if (x, x) not in log_ratios:
            continue
        others = [log_ratios[x, y] for y in task.languages if y != x and (x, y) in log_ratios]
        other = np.mean(others, axis=0) if others else np.zeros(RESAMPLES)
        per_language.append(log_ratios[x, x] - other)
    replicates: np.ndarray = np.mean(per_language, axis=0)
    return replicates


def _perplexity(units: Mapping[str, Sequence[float]], key: str) -> float:
    """exp(mean NLL) of one condition over a cell's windows."""
    return math.exp(math.fsum(units[key]) / math.fsum(units["tokens"]))


def _log_ratios(
    task: TaskSpec[AblationSpec], lang: str, units: Mapping[str, Sequence[float]], key: str
) -> np.ndarray:
    """Bootstrap replicates of log(PPL of condition ``key`` / unmodified PPL) on ``lang``'s windows.

    ``lang``'s windows are drawn alike in every cell and condition (one key and
    seed), so the replicates of every ratio on them are paired.
    """
    tokens = np.asarray(units["tokens"])
    picks = unit_indices(len(tokens), task.fields.control.seed, f"{task.name}/{lang}")
    changed, base = (np.asarray(units[k])[picks].sum(axis=1) for k in (key, "nll"))
    log_ratio: np.ndarray = (changed - base) / tokens[picks].sum(axis=1)
    return log_ratio


def _estimate(result: CellResult | None, name: str) -> str:
    return "-" if result is None else estimate(result.metrics, name)


def _bound_label(field: str, bounded: set[str]) -> str:
    if field not in bounded:
        return ""
    return " (lower bound)" if field.startswith("min_") else " (upper bound)"


def _fmt_max(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{max(present):.2f}" if present else "-"


def _fmt_int(value: float | None) -> str:
    return "-" if value is None else str(int(value))


class _Evaluator:
    def __init__(self, task: TaskSpec[AblationSpec], context: RunContext) -> None:
        self.task = task
        self.fields: AblationSpec = task.fields
        self.context = context
        control = self.fields.control
        self.controls = [
            control_draw(context.neuron_set, control.seed, i) for i in range(control.draws)
        ]
        self._nll: dict[tuple[str, Condition, str], NLL] = {}
        self.pairs = {c.id: (c.params["ablate"], c.params["eval"]) for c in Ablation().cells(task)}

    def evaluate(self, cell: Cell) -> CellResult:
        x = cell.params["ablate"]
        metrics = Ablation().unit_metrics(self.task, cell, self.units)
        metrics["neurons"] = size(self.context.neuron_set, x)
        failures = task_kind(self.task.kind).failures(self.task, cell, metrics)
        units = {key: list(values) for key, values in self.units(cell.id).items()}
        return CellResult(metrics, failures, units=units)

    def units(self, cell_id: str) -> _Units:
        """The per-window NLLs of a cell's conditions, each measured when first read.

        A diagonal cell reads the other languages' unmodified and ablated NLLs
        (for their mean ratio), not their controls: those wait for their own cells.
        """
        x, y = self.pairs[cell_id]
        conditions: dict[str, Condition] = {"nll": ("none", "", 0), "nll_ablated": ("ablate", x, 0)}
        conditions |= {f"nll_control_{i}": ("control", x, i) for i in range(len(self.controls))}
        return _Units(self, y, conditions)

    def nll(self, condition: Condition, lang: str) -> NLL:
        # the unmodified model's perplexity is the same for every neuron set of the run
        memo = self.context.shared if condition[0] == "none" else self._nll
        key = (self.task.name, condition, lang)
        if key not in memo:
            memo[key] = self._compute(condition, lang)
        found: NLL = memo[key]
        return found

    def _compute(self, condition: Condition, lang: str) -> NLL:
        what, x, draw = condition
        chosen = self.context.neuron_set if what == "ablate" else self.controls[draw]
        if what != "none" and is_empty(chosen, x):
            return self.nll(("none", "", 0), lang)
        handle = self.context.handle
        items = self.windows(lang)
        # the BOS position is an attention sink, not text: statistics never count it
        # and the ablation leaves it alone, so a set is judged by what it does to text
        removed = (
            ablation(handle, chosen, x, start=items[0].prefix)
            if what != "none"
            else contextlib.nullcontext()
        )
        with self.context.timings.phase("ablation forward"), removed:
            return nll(handle, items, self.context.batch_size)

    def windows(self, lang: str) -> list[Window]:
        # the same for every neuron set of the run: tokenised once
        key = (self.task.name, "windows", lang)
        if key not in self.context.shared:
            texts = paragraphs(self.task.corpus, lang, self.fields.data.split)
            self.context.shared[key] = list(
                windows(
                    self.context.handle.tokenizer,
                    texts,
                    self.fields.window,
                    self.fields.tokens_per_language,
                    budget_where(self.task, lang),
                )
            )
        found: list[Window] = self.context.shared[key]
        return found


class _Units(Mapping[str, Sequence[float]]):
    """A cell's units (``tokens`` and one NLL per condition), computed on first access."""

    def __init__(self, evaluator: _Evaluator, lang: str, conditions: dict[str, Condition]) -> None:
        self.evaluator, self.lang, self.conditions = evaluator, lang, conditions

    def __getitem__(self, key: str) -> Sequence[float]:
        if key == "tokens":
            return [
                float(n)
                for n in self.evaluator.nll(self.conditions["nll"], self.lang).window_tokens
            ]
        return self.evaluator.nll(self.conditions[key], self.lang).window_nll

    def __iter__(self) -> Iterator[str]:
        return iter(["tokens", *self.conditions])

    def __len__(self) -> int:
        return 1 + len(self.conditions)


KINDS.add("ablation", Ablation())
