"""Downstream tasks under ablation: lm-eval accuracy with a language's neurons zeroed.

Each language of the task names one lm-eval task (``lm_eval_tasks`` with
``{lang}``; by default the project's multiple-choice set of
:mod:`langneurons.tasks.lm_eval_tasks`, written offline under the cache). Cells are
``ablate[X]-eval[Y]``: the task of language Y scored by lm-eval through
:class:`~langneurons.tasks.lm_eval_model.InterventionLM` with X's neurons zeroed, with
nothing zeroed (the baseline, shared by every neuron set) and with the matched
random controls of X (``control.draws`` of them, averaged). The result is an
accuracy-drop matrix like the perplexity one. Drops carry 95 % bootstrap
intervals over the task's documents, paired across conditions (the control's
also over its draws; :mod:`langneurons.tasks.uncertainty`).

Checks: on the diagonal, own drop >= ``min_own_drop`` and the mean drop on the
other languages <= ``max_other_drop``; in every cell, the controls' mean drop <=
``max_control_drop``; each on the point estimate, or on its interval's bound
where listed in ``use_bound``.

lm-eval runs code that its task configs name (``!function``, Jinja templates),
so a task whose ``include_path`` names a folder of configs needs the person
running it to opt in, like ``trust_remote_code`` in transformers
(:func:`check_task_code`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from langneurons.canonical import sha256_of
from langneurons.columns import estimate, matrix
from langneurons.errors import ConfigError
from langneurons.neurons.controls import control_draw
from langneurons.paths import cache_dir
from langneurons.tasks.checks import Checks, Rule, diagonal, failures
from langneurons.tasks.context import RunContext
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
from langneurons.tasks.spec import ControlSpec, TaskFields, TaskSpec
from langneurons.tasks.uncertainty import (
    RESAMPLES,
    draw_indices,
    interval,
    over_draws,
    point_and_bounds,
    spread,
    unit_indices,
    with_interval,
)
from langneurons.tasks.under_test import lm_eval_condition, size

DEFAULT_TASKS = "langneurons_concepts_{lang}"


class DownstreamChecks(Checks):
    """Thresholds that make a cell pass (accuracy drops, baseline minus ablated)."""

    BOUNDED = frozenset({"min_own_drop", "max_other_drop", "max_control_drop"})

    min_own_drop: float = Field(description="diagonal: own-language drop at least")
    max_other_drop: float = Field(description="diagonal: mean drop on the others at most")
    max_control_drop: float = Field(description="every cell: the control's drop at most")


class DownstreamSpec(TaskFields):
    """Spec of a downstream task."""

    kind: Literal["downstream"]
    lm_eval_tasks: str = Field(
        default=DEFAULT_TASKS, description="lm-eval task name per language, with {lang}"
    )
    include_path: str | None = Field(default=None, description="folder of more lm-eval tasks")
    metric: str = Field(default="acc", description="the lm-eval metric reported")
    limit: int | None = Field(default=None, ge=1, description="items per lm-eval task at most")
    batch_size: int = Field(default=16, ge=1, description="requests per forward pass")
    control: ControlSpec = ControlSpec()
    checks: DownstreamChecks

    @model_validator(mode="after")
    def _template(self) -> DownstreamSpec:
        if "{lang}" not in self.lm_eval_tasks:
            raise ValueError("lm_eval_tasks must contain {lang}")
        return self


def check_task_code(task: TaskSpec[DownstreamSpec], trust_task_code: bool = False) -> None:
    """Refuse a task that has lm-eval read task configs from its ``include_path``, unless trusted.

    lm-eval imports the Python a config names (``!function module.fn``) and renders
    its Jinja templates (``doc_to_text`` and the like) in an unsandboxed
    environment, which can reach Python too; so any config folder a task file
    names is code, like a model repository with ``trust_remote_code``. lm-eval's
    own tasks and the project's generated ones are installed code, not user input.
    Call it before any model loads and before lm-eval sees the folder.

    Raises:
        ConfigError: ``include_path`` is not a folder, or it is given and
            ``trust_task_code`` is False; one line naming the folder and the opt-in.
    """
    fields = task.fields
    if not isinstance(fields, DownstreamSpec) or fields.include_path is None:
        return
    folder = Path(fields.include_path)
    if not folder.is_dir():
        raise ConfigError(f"{task.path}: include_path {folder}: no such folder")
    if not trust_task_code:
        raise ConfigError(
            f"{task.path}: needs --trust-task-code: lm-eval would run the configs in "
            f"{folder} as code (!function imports, unsandboxed Jinja templates); "
            f"give --trust-task-code if you trust {folder}"
        )


class Downstream:
    """The downstream task kind."""

    name = "downstream"
    spec_model = DownstreamSpec
    headline = Headline("specificity", "accuracy-drop specificity")

    def cells(self, task: TaskSpec[DownstreamSpec]) -> list[Cell]:
        """One cell per (ablated, evaluated) language pair."""
        fields: DownstreamSpec = task.fields
        return [
            Cell(
                task.name,
                _cell_id(x, y),
                {"ablate": x, "eval": y, "lm_eval_task": fields.lm_eval_tasks.format(lang=y)},
            )
            for x in task.languages
            for y in task.languages
        ]

    def preflight(self, task: TaskSpec[DownstreamSpec], trust_task_code: bool) -> None:
        """Refuse task folders whose lm-eval configs would run code, unless trusted."""
        check_task_code(task, trust_task_code)

    def evaluator(
        self, task: TaskSpec[DownstreamSpec], context: RunContext
    ) -> Callable[[Cell], CellResult]:
        """Return a cell evaluator that runs lm-eval once per condition."""
        return _Evaluator(task, context).evaluate

    def failures(
        self, task: TaskSpec[DownstreamSpec], cell: Cell, metrics: Mapping[str, float]
    ) -> list[str]:
        """Own and others' drops on the diagonal; the control's drop in every cell."""
        return failures(RULES, task.fields.checks, cell, metrics)

    def unit_metrics(
        self, task: TaskSpec[DownstreamSpec], cell: Cell, units: UnitsOf
    ) -> dict[str, float]:
        """Drops and their intervals from each document's drop; on the diagonal, the others' mean.

        The others' mean drop with X ablated comes from the units of those cells
        (``ablate[X]-eval[Z]``).
        """
        x, y = cell.params["ablate"], cell.params["eval"]
        control = task.fields.control
        own = units(cell.id)
        drop = np.asarray(own["drop"])
        picks = _documents(task, cell.params["lm_eval_task"], len(drop))
        # [draws, documents]: each control's drop per document
        control_drops = np.asarray([own[f"control_drop_{i}"] for i in range(control.draws)])
        control_means = control_drops.mean(axis=1)
        metrics: dict[str, float] = {
            "control_draws": float(control.draws),
            "control_drop_sd": spread(control_means),
        }
        with_interval(metrics, "drop", float(drop.mean()), drop[picks].mean(axis=1))
        draws = draw_indices(control.draws, control.seed, f"{task.name}/{x}")
        with_interval(
            metrics,
            "control_drop",
            float(control_means.mean()),
            over_draws(control_drops, picks, draws),
        )
        if x == y:
            others = [c for c in self.cells(task) if c.params["ablate"] == x and c.id != cell.id]
            drops = [(np.asarray(units(c.id)["drop"]), c.params["lm_eval_task"]) for c in others]
            replicates = (
                np.mean([d[_documents(task, n, len(d))].mean(axis=1) for d, n in drops], axis=0)
                if drops
                else np.zeros(RESAMPLES)
            )
            point = float(np.mean([d.mean() for d, _ in drops])) if drops else 0.0
            with_interval(metrics, "mean_other_drop", point, replicates)
        return metrics

    def figures(
        self, task: TaskSpec[DownstreamSpec], results: Mapping[str, CellResult]
    ) -> list[Figure]:
        """None: the summary matrix says it all."""
        return []

    def summarize(
        self, task: TaskSpec[DownstreamSpec], results: Mapping[str, CellResult]
    ) -> Summary:
        """The accuracy-drop matrix and the specificity of the drops."""
        fields: DownstreamSpec = task.fields
        langs = task.languages

        def drop(x: str, y: str) -> float | None:
            found = results.get(_cell_id(x, y))
            return found.metrics["drop"] if found else None

        def baseline(x: str) -> str:
            found = results.get(_cell_id(x, x))
            return f"{found.metrics['baseline']:.2f}" if found else "-"

        def with_bounds(x: str, name: str) -> str:
            found = results.get(_cell_id(x, x))
            return estimate(found.metrics, name) if found and name in found.metrics else "-"

        text = matrix(
            "ablate\\eval",
            langs,
            langs,
            drop,
            [
                ("own [95 %]", lambda x: with_bounds(x, "drop")),
                ("others [95 %]", lambda x: with_bounds(x, "mean_other_drop")),
                ("baseline", baseline),
                ("pass", lambda x: _verdict(results, x, langs)),
            ],
        )
        diagonal = [(results[_cell_id(x, x)], x) for x in langs if _cell_id(x, x) in results]
        scores: dict[str, float] = {}
        if diagonal:
            scores["specificity"] = sum(
                r.metrics["drop"] - r.metrics.get("mean_other_drop", 0.0) for r, _ in diagonal
            ) / len(diagonal)
            if all(r.units for r in results.values()):
                low, high = interval(_specificity_replicates(task, results))
                scores["specificity_lo"], scores["specificity_hi"] = low, high
            scores["languages_passing"] = float(sum(r.passed for r, _ in diagonal))
            scores["languages"] = float(len(diagonal))
        legend = (
            f"{fields.metric} drop (baseline - ablated) on lm-eval tasks {fields.lm_eval_tasks}; "
            f"[95 % bootstrap interval over documents]; control: mean of "
            f"{fields.control.draws} random draws; pass: own >= {fields.checks.min_own_drop}, others <= {fields.checks.max_other_drop}, "
            f"control <= {fields.checks.max_control_drop}"
        )
        return Summary(scores, f"{legend}\n{text}")

    def detail(
        self, task: TaskSpec[DownstreamSpec], results: Mapping[str, CellResult]
    ) -> list[View]:
        """The accuracy-drop heatmap."""
        rows = [
            [c.params["ablate"], c.params["eval"], *point_and_bounds(results[c.id].metrics, "drop")]
            for c in self.cells(task)
            if c.id in results
        ]
        title = "lm-eval accuracy drop, ablated language (rows) x task language"
        return [View("heatmap", title, rows, legend="accuracy drop")]


RULES = (
    Rule("min_own_drop", "drop", "own drop", diagonal("ablate", "eval")),
    Rule(
        "max_other_drop", "mean_other_drop", "mean drop on the others", diagonal("ablate", "eval")
    ),
    Rule("max_control_drop", "control_drop", "control drop"),
)


def _cell_id(ablated: str, evaluated: str) -> str:
    return f"ablate[{ablated}]-eval[{evaluated}]"


def _verdict(results: Mapping[str, CellResult], x: str, langs: list[str]) -> str:
    row = [results.get(_cell_id(x, y)) for y in langs]
    if any(r is None for r in row):
        return "-"
    return "yes" if all(r is not None and r.passed for r in row) else "no"


@dataclass(frozen=True)
class _Scores:
    """One lm-eval task's score under one condition, with each document's."""

    task: str
    value: float
    samples: int
    stderr: float | None
    per_document: np.ndarray  # the metric per document, by lm-eval's doc_id


def _specificity_replicates(
    task: TaskSpec[DownstreamSpec], results: Mapping[str, CellResult]
) -> np.ndarray:
    """Bootstrap replicates of the specificity, from each document's drop in every cell.

    An lm-eval task's documents are resampled as its cells' drops were (the same
    key and seed), so every ablation is resampled on the same documents.
    """
    drops: dict[tuple[str, str], np.ndarray] = {}
    for cell in Downstream().cells(task):
        found = results.get(cell.id)
        if found is not None:
            drop = np.asarray(found.units["drop"])
            picks = _documents(task, cell.params["lm_eval_task"], len(drop))
            drops[cell.params["ablate"], cell.params["eval"]] = drop[picks].mean(axis=1)
    per_language = []
    for x in task.languages:
        if (x, x) in drops:
            others = [drops[x, y] for y in task.languages if y != x and (x, y) in drops]
            other = np.mean(others, axis=0) if others else np.zeros(RESAMPLES)
            per_language.append(drops[x, x] - other)
    replicates: np.ndarray = np.mean(per_language, axis=0)
    return replicates


def _documents(task: TaskSpec[DownstreamSpec], lm_eval_task: str, documents: int) -> np.ndarray:
    """The bootstrap's resampled documents of one lm-eval task, the same in every condition."""
    return unit_indices(documents, task.fields.control.seed, f"{task.name}/{lm_eval_task}")


class _Evaluator:
    def __init__(self, task: TaskSpec[DownstreamSpec], context: RunContext) -> None:
        # a run checked this before any model loaded; here for callers that skip the session
        check_task_code(task, context.trust_task_code)
        self.task = task
        self.fields: DownstreamSpec = task.fields
        self.context = context
        control = self.fields.control
        self.controls = [
            control_draw(context.neuron_set, control.seed, i) for i in range(control.draws)
        ]
        self.set_sha256 = context.neuron_set.sha256()
        self.planned = {c.id: c for c in Downstream().cells(task)}
        self._lm: Any = None
        self._manager: Any = None
        self.configs: dict[
            str, str
        ] = {}  # lm-eval task -> sha256 of its config as lm-eval reports it

    def evaluate(self, cell: Cell) -> CellResult:
        x = cell.params["ablate"]
        plain = self.scores(("baseline",), {})
        ablated = self.scores(
            (self.set_sha256, "ablate", x), lm_eval_condition(self.context.neuron_set, x)
        )
        controls = [
            self.scores((self.set_sha256, "control", x, str(i)), lm_eval_condition(c, x))
            for i, c in enumerate(self.controls)
        ]
        name = cell.params["lm_eval_task"]
        metrics: dict[str, float] = {
            "baseline": plain[name].value,
            "ablated": ablated[name].value,
            "control": float(np.mean([c[name].value for c in controls])),
            "samples": float(plain[name].samples),
            "neurons": size(self.context.neuron_set, x),
        }
        # lm-eval reports no standard error for some metrics ("N/A"): leave it out, not NaN
        for label, scores in (("baseline", plain[name]), ("ablated", ablated[name])):
            if scores.stderr is not None:
                metrics[f"{label}_stderr"] = scores.stderr

        def units(cell_id: str) -> dict[str, list[float]]:  # a cell of the same ablation
            task = self.planned[cell_id].params["lm_eval_task"]
            baseline = plain[task].per_document
            found = {"drop": (baseline - ablated[task].per_document).tolist()}
            for i, c in enumerate(controls):
                found[f"control_drop_{i}"] = (baseline - c[task].per_document).tolist()
            return found

        metrics |= Downstream().unit_metrics(self.task, cell, units)
        failures = task_kind(self.task.kind).failures(self.task, cell, metrics)
        info = {"lm_eval_task": name, "lm_eval_config_sha256": self.configs[name]}
        return CellResult(metrics, failures, info=info, units=units(cell.id))

    def scores(
        self, condition: tuple[str, ...], intervention: Mapping[str, Any]
    ) -> dict[str, _Scores]:
        """lm-eval's scores under ``condition``, run once per run (the baseline once for all sets).

        ``intervention`` is what ``InterventionLM.intervening`` takes.
        """
        key = (self.task.name, self.task.sha256, *condition)
        if key not in self.context.shared:
            self.context.shared[key] = self._run(intervention)
        found: dict[str, _Scores] = self.context.shared[key]
        return found

    def _run(self, intervention: Mapping[str, Any]) -> dict[str, _Scores]:
        import lm_eval

        lm, manager = self._model()
        names = [self.fields.lm_eval_tasks.format(lang=lang) for lang in self.task.languages]
        with lm.intervening(**intervention), self.context.timings.phase("lm-eval"):
            out = lm_eval.simple_evaluate(
                model=lm,
                tasks=names,
                task_manager=manager,
                limit=self.fields.limit,
                log_samples=True,
            )
        metric = self.fields.metric
        for name in names:
            # lm-eval configs hold callables (filters, process_docs): their str stands in
            config = json.loads(json.dumps(out["configs"][name], default=str))
            self.configs[name] = sha256_of(config)
        found = {}
        for name in names:
            result = out["results"][name]
            stderr = result.get(f"{metric}_stderr,none")
            documents = sorted(out["samples"][name], key=lambda sample: sample["doc_id"])
            found[name] = _Scores(
                task=name,
                value=float(result[f"{metric},none"]),
                samples=int(out["n-samples"][name]["effective"]),
                stderr=float(stderr)
                if isinstance(stderr, (int, float)) and math.isfinite(stderr)
                else None,
                per_document=np.asarray([float(d[metric]) for d in documents]),
            )
        return found

    def _model(self) -> tuple[Any, Any]:
        if self._lm is None:
            from langneurons.tasks.lm_eval_model import InterventionLM
            from langneurons.tasks.lm_eval_tasks import write_tasks

            folders = [cache_dir() / "lm_eval_tasks"]
            if self.fields.lm_eval_tasks == DEFAULT_TASKS:
                write_tasks(folders[0], self.task.languages)
            if self.fields.include_path:
                folders.append(Path(self.fields.include_path))
            handle = self.context.handle
            self._lm = InterventionLM(
                pretrained=handle.model,
                tokenizer=handle.tokenizer,
                batch_size=self.fields.batch_size,
            )
            self._manager = _task_manager(
                folders, [self.fields.lm_eval_tasks.format(lang=x) for x in self.task.languages]
            )
        return self._lm, self._manager


def _task_manager(folders: list[Path], names: list[str]) -> Any:
    """lm-eval's task index of ``folders``, with its built-in tasks only if ``names`` need them.

    Indexing lm-eval's thousands of built-in task configs takes seconds (4.6 s on
    the reference CPU) and the default tasks are all in ``folders``; a name that
    is not a task there (a built-in task, or a group, whose members may be
    built-in) gets the whole index, as lm-eval builds it by default.
    """
    from lm_eval.tasks import TaskManager

    paths = [str(f) for f in folders]
    own = TaskManager(include_path=paths, include_defaults=False)
    if all(name in own.all_subtasks for name in names):
        return own
    return TaskManager(include_path=paths)


KINDS.add("downstream", Downstream())
