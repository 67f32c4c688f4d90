"""Downstream tasks under ablation: lm-eval accuracy with a language's neurons zeroed.

Each language of the task names one lm-eval task (``lm_eval_tasks`` with
``{lang}``; by default the project's multiple-choice set of
:mod:`langneurons.tasks.lm_eval_tasks`, written offline under the cache). Cells are
``ablate[X]-eval[Y]``: the task of language Y scored by lm-eval through
:class:`~langneurons.tasks.lm_eval_model.InterventionLM` with X's neurons zeroed, with
nothing zeroed (the baseline, shared by every neuron set) and with the matched
random control of X. The result is an accuracy-drop matrix like the perplexity one.

Checks: on the diagonal, own drop >= ``min_own_drop`` and the mean drop on the
other languages <= ``max_other_drop``; in every cell, the control's drop <=
``max_control_drop``.

lm-eval runs code that its task configs name (``!function``, Jinja templates),
so a task whose ``include_path`` names a folder of configs needs the person
running it to opt in, like ``trust_remote_code`` in transformers
(:func:`check_task_code`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langneurons.canonical import sha256_of
from langneurons.columns import matrix
from langneurons.errors import ConfigError
from langneurons.neurons.controls import matched_random
from langneurons.paths import cache_dir
from langneurons.tasks.checks import Rule, diagonal, failures
from langneurons.tasks.context import RunContext
from langneurons.tasks.protocol import (
    KINDS,
    Cell,
    CellResult,
    Figure,
    Headline,
    Summary,
    View,
    task_kind,
)
from langneurons.tasks.spec import ControlSpec, TaskFields, TaskSpec

DEFAULT_TASKS = "langneurons_concepts_{lang}"


class DownstreamChecks(BaseModel):
    """Thresholds that make a cell pass (accuracy drops, baseline minus ablated)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    headline = Headline("specificity", "accuracy-drop specificity", lambda s: s.get("specificity"))

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

        text = matrix(
            "ablate\\eval",
            langs,
            langs,
            drop,
            [("baseline", baseline), ("pass", lambda x: _verdict(results, x, langs))],
        )
        diagonal = [(results[_cell_id(x, x)], x) for x in langs if _cell_id(x, x) in results]
        scores: dict[str, float] = {}
        if diagonal:
            scores["specificity"] = sum(
                r.metrics["drop"] - r.metrics.get("mean_other_drop", 0.0) for r, _ in diagonal
            ) / len(diagonal)
            scores["languages_passing"] = float(sum(r.passed for r, _ in diagonal))
            scores["languages"] = float(len(diagonal))
        legend = (
            f"{fields.metric} drop (baseline - ablated) on lm-eval tasks {fields.lm_eval_tasks}; "
            f"pass: own >= {fields.checks.min_own_drop}, others <= {fields.checks.max_other_drop}, "
            f"control <= {fields.checks.max_control_drop}"
        )
        return Summary(scores, f"{legend}\n{text}")

    def detail(
        self, task: TaskSpec[DownstreamSpec], results: Mapping[str, CellResult]
    ) -> list[View]:
        """The accuracy-drop heatmap."""
        rows = [
            [c.params["ablate"], c.params["eval"], results[c.id].metrics["drop"]]
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


class _Evaluator:
    def __init__(self, task: TaskSpec[DownstreamSpec], context: RunContext) -> None:
        # a run checked this before any model loaded; here for callers that skip the session
        check_task_code(task, context.trust_task_code)
        self.task = task
        self.fields: DownstreamSpec = task.fields
        self.context = context
        self.control = matched_random(context.neuron_set, self.fields.control.seed)
        self.set_sha256 = context.neuron_set.sha256()
        self._lm: Any = None
        self._manager: Any = None
        self.configs: dict[
            str, str
        ] = {}  # lm-eval task -> sha256 of its config as lm-eval reports it

    def evaluate(self, cell: Cell) -> CellResult:
        x, y = cell.params["ablate"], cell.params["eval"]
        plain = self.scores(("baseline",), {})
        ablated = self.scores((self.set_sha256, "ablate", x), self.context.neuron_set.languages[x])
        control = self.scores((self.set_sha256, "control", x), self.control.languages[x])
        name = cell.params["lm_eval_task"]
        metrics = {
            "baseline": plain[name]["value"],
            "ablated": ablated[name]["value"],
            "control": control[name]["value"],
            "drop": plain[name]["value"] - ablated[name]["value"],
            "control_drop": plain[name]["value"] - control[name]["value"],
            "samples": plain[name]["samples"],
            "neurons": float(self.context.neuron_set.count(x)),
        }
        # lm-eval reports no standard error for some metrics ("N/A"): leave it out, not NaN
        for label, scores in (("baseline", plain[name]), ("ablated", ablated[name])):
            if "stderr" in scores:
                metrics[f"{label}_stderr"] = scores["stderr"]
        info = {"lm_eval_task": name, "lm_eval_config_sha256": self.configs[name]}
        if x == y:
            others = [plain[n]["value"] - ablated[n]["value"] for n in plain if n != name]
            metrics["mean_other_drop"] = sum(others) / len(others) if others else 0.0
        failures = task_kind(self.task.kind).failures(self.task, cell, metrics)
        return CellResult(metrics, failures, info=info)

    def scores(
        self, condition: tuple[str, ...], neurons: Mapping[int, Any]
    ) -> dict[str, dict[str, float]]:
        """lm-eval's scores under ``condition``, run once per run (the baseline once for all sets)."""
        key = (self.task.name, self.task.sha256, *condition)
        if key not in self.context.shared:
            self.context.shared[key] = self._run(neurons)
        found: dict[str, dict[str, float]] = self.context.shared[key]
        return found

    def _run(self, neurons: Mapping[int, Any]) -> dict[str, dict[str, float]]:
        import lm_eval

        lm, manager = self._model()
        names = [self.fields.lm_eval_tasks.format(lang=lang) for lang in self.task.languages]
        with lm.intervening(zero=neurons), self.context.timings.phase("lm-eval"):
            out = lm_eval.simple_evaluate(
                model=lm,
                tasks=names,
                task_manager=manager,
                limit=self.fields.limit,
                log_samples=False,
            )
        metric = self.fields.metric
        for name in names:
            # lm-eval configs hold callables (filters, process_docs): their str stands in
            config = json.loads(json.dumps(out["configs"][name], default=str))
            self.configs[name] = sha256_of(config)
        found = {}
        for name in names:
            result = out["results"][name]
            found[name] = {
                "value": float(result[f"{metric},none"]),
                "samples": float(out["n-samples"][name]["effective"]),
            }
            stderr = result.get(f"{metric}_stderr,none")
            if isinstance(stderr, (int, float)) and math.isfinite(stderr):
                found[name]["stderr"] = float(stderr)
        return found

    def _model(self) -> tuple[Any, Any]:
        if self._lm is None:
            from lm_eval.tasks import TaskManager

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
            self._manager = TaskManager(include_path=[str(f) for f in folders])
        return self._lm, self._manager


KINDS.add("downstream", Downstream())
