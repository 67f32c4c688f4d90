"""Latent language: does the model pass through English on the way to another language?

Wendler et al. 2024 decode every layer with the logit lens on translation,
repetition and cloze prompts (:mod:`langneurons.tasks.latent_prompts`) and find the
English answer ahead in the middle layers before the target answer takes over.
Cells ``translation[S>T]``, ``repetition[T]`` and ``cloze[T]`` report, per layer,
the probabilities of the target and English answers with 95 % bands, entropy,
logit-lens accuracy, the latent-English rate (:mod:`langneurons.tasks.latent_readout`)
and the token energy of the residual stream with its band (``energy``: how much of
the state lies along the unembedding's token directions,
:class:`~langneurons.models.logit_lens.TokenEnergy`); the summary numbers are the
English peak (layer and probability), the first layer from that peak on where the
target is ahead, and the final-layer accuracy.

With ``ablate``, each cell runs again with the target language's neurons zeroed at
every position (as the LAPE reference ``ppl.py`` does; the ablation task keeps BOS
instead) and reports the drop in final target probability, with the curves; the
matched random control's drop is measured at the last layer, for each of
``control.draws`` random sets (reported as their mean and spread). The
final-layer numbers (accuracy, target probability, drops) and the English peak's
probability carry 95 % bootstrap intervals over the items, paired across
conditions (:mod:`langneurons.tasks.uncertainty`). The cell
``probe[language]`` fits a linear probe per layer that names the language of a
monolingual input (the concepts' filled-in cloze sentences, which carry no
language name or label) from the residual stream at its last position
(:mod:`langneurons.tasks.linear_probe`), held out by concept.

Checks: final accuracy >= ``min_final_accuracy`` (or its interval's lower bound,
with ``use_bound``); the English peak strictly inside the layer range (target not
English); best probe accuracy >= ``min_probe_accuracy``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import cycle
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from langneurons.columns import estimate, table
from langneurons.models.logit_lens import TokenEnergy, state_batches
from langneurons.neurons.controls import control_draw
from langneurons.tasks.answer_tokens import AnswerTokens
from langneurons.tasks.checks import Checks, Rule, cell_id_is, cell_id_is_not, failures
from langneurons.tasks.context import RunContext
from langneurons.tasks.latent_prompts import PROMPT_KINDS, Items, PromptKind, build_items
from langneurons.tasks.latent_readout import MEASURES, Lens, measure, overtake, peak
from langneurons.tasks.linear_probe import held_out, probe_hits
from langneurons.tasks.protocol import (
    KINDS,
    Cell,
    CellResult,
    Figure,
    Headline,
    Panel,
    Series,
    Summary,
    UnitsOf,
    View,
    task_kind,
)
from langneurons.tasks.spec import ControlSpec, TaskFields, TaskSpec
from langneurons.tasks.uncertainty import (
    draw_indices,
    interval,
    over_draws,
    spread,
    unit_indices,
    with_interval,
)
from langneurons.tasks.under_test import ablation
from langneurons.text.concepts import load_concepts
from langneurons.text.corpus import paragraphs
from langneurons.text.sources import concept_sentences

if TYPE_CHECKING:
    import torch


class LatentCells(BaseModel):
    """Which cells to run: ``S>T`` pairs for translation, target languages for the others."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    translation: list[str] = Field(default=[], description="pairs such as fr>zh")
    repetition: list[str] = Field(default=[], description="languages")
    cloze: list[str] = Field(default=[], description="languages")

    @field_validator("translation")
    @classmethod
    def _pairs(cls, pairs: list[str]) -> list[str]:
        for pair in pairs:
            source, _, target = pair.partition(">")
            if not source or not target or source == target:
                raise ValueError(f"'{pair}' is not a pair of two languages such as fr>zh")
        return pairs

    def entries(self) -> list[tuple[PromptKind, str, str]]:
        """(prompt kind, source, target) of every cell."""
        found: list[tuple[PromptKind, str, str]] = []
        for pair in self.translation:
            source, _, target = pair.partition(">")
            found.append(("translation", source, target))
        found += [("repetition", lang, lang) for lang in self.repetition]
        found += [("cloze", lang, lang) for lang in self.cloze]
        return found


class ProbeSpec(BaseModel):
    """The linear probe of the input language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    held_out: float = Field(default=0.3, gt=0, lt=1, description="share of concepts held out")
    l2: float = Field(default=0.01, ge=0, description="weight of the L2 penalty")


class LatentChecks(Checks):
    """Thresholds that make a cell pass."""

    BOUNDED = frozenset({"min_final_accuracy", "min_probe_accuracy"})

    min_final_accuracy: float = Field(ge=0, le=1, description="final-layer top-1 accuracy")
    latent_peak_inside: bool = Field(
        default=True, description="English peaks strictly between the first and last layer"
    )
    min_probe_accuracy: float = Field(ge=0, le=1, description="best layer's probe accuracy")


class LatentSpec(TaskFields):
    """Spec of a latent-language task."""

    kind: Literal["latent"]
    latent: str = Field(default="en", description="the language looked for in the middle layers")
    cells: LatentCells
    translation_examples: int = Field(default=4, ge=0, description="demonstrations (k - 1)")
    cloze_examples: int = Field(default=2, ge=0, description="demonstration sentences")
    batch_size: int = Field(default=16, ge=1, description="prompts per forward pass")
    seed: int = Field(default=0, description="seed of demonstrations and the probe split")
    ablate: bool = Field(default=True, description="run again with the target's neurons zeroed")
    control: ControlSpec = ControlSpec()
    probe: ProbeSpec = ProbeSpec()
    checks: LatentChecks

    @model_validator(mode="after")
    def _consistent(self) -> LatentSpec:
        if self.data.source != concept_sentences.NAME:
            raise ValueError(
                f"data.source must be '{concept_sentences.NAME}' (the built-in list or a file)"
            )
        for _, source, target in self.cells.entries():
            for lang in (source, target):
                if lang not in self.languages:
                    raise ValueError(f"cell language '{lang}' is not among the languages")
        return self


class Latent:
    """The latent-language task kind."""

    name = "latent"
    spec_model = LatentSpec
    headline = Headline("drop_beyond_control", "latent drop")

    def cells(self, task: TaskSpec[LatentSpec]) -> list[Cell]:
        """Lens cells whose languages survive ``--langs``, then the probe (two languages or more)."""
        fields: LatentSpec = task.fields
        cells = [
            Cell(task.name, _cell_id(kind, s, t), {"prompt": kind, "source": s, "target": t})
            for kind, s, t in fields.cells.entries()
            if s in task.languages and t in task.languages
        ]
        if len(task.languages) > 1:
            cells.append(Cell(task.name, PROBE, {"languages": ",".join(task.languages)}))
        return cells

    def preflight(self, task: TaskSpec[LatentSpec], trust_task_code: bool) -> None:
        """Nothing to check: the task runs no code of its own."""

    def evaluator(
        self, task: TaskSpec[LatentSpec], context: RunContext
    ) -> Callable[[Cell], CellResult]:
        """Return a cell evaluator sharing token sets and unablated passes between cells."""
        return _Evaluator(task, context).evaluate

    def failures(
        self, task: TaskSpec[LatentSpec], cell: Cell, metrics: Mapping[str, float]
    ) -> list[str]:
        """The probe's best accuracy; a lens cell's items, English peak and final accuracy.

        The peak check reads ``layers``, the number of layers the lens decoded.
        """
        checks: LatentChecks = task.fields.checks
        if cell.id != PROBE and metrics["items"] == 0:
            return ["no item left after the token-set rules"]
        found = []
        lens = cell.id != PROBE
        if lens and cell.params["target"] != task.fields.latent and checks.latent_peak_inside:
            top, layers = metrics["latent_peak_layer"], metrics["layers"]
            if not 0 < top < layers - 1:
                found.append(f"English peaks at layer {top:.0f}, not inside the layer range")
        return found + failures(RULES, checks, cell, metrics)

    def unit_metrics(
        self, task: TaskSpec[LatentSpec], cell: Cell, units: UnitsOf
    ) -> dict[str, float]:
        """Per-item rates and drops with intervals over items; the control's also over its draws.

        A lens cell's final-layer units and English-peak probabilities are left out
        for files from before they were kept (the drops were kept from the start).
        """
        own = units(cell.id)
        if not own:  # a lens cell without items
            return {}
        control = task.fields.control
        picks = unit_indices(len(next(iter(own.values()))), control.seed, cell.id)
        metrics: dict[str, float] = {}
        for name, key in UNIT_RATES[cell.id == PROBE]:
            if key in own:
                values = np.asarray(own[key], dtype=float)
                with_interval(metrics, name, float(values.mean()), values[picks].mean(axis=1))
        if "target_drop" in own:
            drop = np.asarray(own["target_drop"])
            # [draws, items]: each control's drop per item
            drops = np.asarray([own[f"control_drop_{i}"] for i in range(control.draws)])
            means = drops.mean(axis=1)
            draws = draw_indices(
                control.draws, control.seed, f"{task.name}/{cell.params['target']}"
            )
            metrics["control_draws"] = float(control.draws)
            metrics["control_drop_sd"] = spread(means)
            with_interval(metrics, "target_drop", float(drop.mean()), drop[picks].mean(axis=1))
            with_interval(
                metrics, "control_drop", float(means.mean()), over_draws(drops, picks, draws)
            )
        return metrics

    def summarize(self, task: TaskSpec[LatentSpec], results: Mapping[str, CellResult]) -> Summary:
        """Per-cell lens numbers, ablation drops and probe accuracies."""
        lens = {k: r for k, r in results.items() if k != PROBE}
        probes = {k: r for k, r in results.items() if k == PROBE}
        rows = [_lens_row(cell_id, r) for cell_id, r in lens.items()]
        parts = [
            "logit lens at the last prompt position (P = probability of the answer's token set; "
            "peak = layer where English is most probable; ahead = first layer from the peak on "
            "where the target is more probable; drop = final P(target) lost when the target's "
            "neurons are ablated, and with the random controls' mean; [95 % bootstrap interval "
            "over items])",
            table(
                ["cell", "items", "acc", "P(target)", "peak (P)", "ahead", "drop", "ctrl", "pass"],
                rows,
            ),
        ]
        if probes:
            probe_rows = [
                [
                    cell_id,
                    f"{r.metrics['classes']:.0f}",
                    f"{r.metrics['chance']:.2f}",
                    f"{estimate(r.metrics, 'best_accuracy')} (L{r.metrics['best_layer']:.0f})",
                    estimate(r.metrics, "final_accuracy"),
                    "yes" if r.passed else "no",
                ]
                for cell_id, r in probes.items()
            ]
            parts += [
                "linear probe of the language of monolingual sentences (held-out concepts; [95 % "
                "bootstrap interval over the held-out items, at the layer chosen on them])",
                table(["probe", "classes", "chance", "best (layer)", "last", "pass"], probe_rows),
            ]
        return Summary(_scores(task, lens, probes), "\n".join(parts))

    def detail(self, task: TaskSpec[LatentSpec], results: Mapping[str, CellResult]) -> list[View]:
        """The translation cells' logit-lens curves: target solid, English dashed."""
        rows: list[list[object]] = []
        translations = [c for c in self.cells(task) if c.params.get("prompt") == "translation"]
        for group, cell in enumerate(c for c in translations if c.id in results):
            curves = results[cell.id].curves
            rows.append(
                [
                    f"{cell.params['source']}>{cell.params['target']}",
                    curves.get("p_target", []),
                    group,
                    False,
                ]
            )
            if curves.get("p_latent"):
                rows.append(["", curves["p_latent"], group, True])
        title = "logit lens, translation: target (solid), English (dashed)"
        return [View("curves", title, rows)] if rows else []

    def figures(
        self, task: TaskSpec[LatentSpec], results: Mapping[str, CellResult]
    ) -> list[Figure]:
        """Per prompt kind, its cells' per-layer curves (Wendler et al. 2024's style); energy; probe.

        Lens curves solid: the unmodified model (target blue, English orange) with
        95 % bands; dashed: the same with the target language's neurons ablated. The
        energy figure has a panel per prompt kind and a curve per cell, with bands.
        """
        figures = []
        for kind in PROMPT_KINDS:
            mine = {k: r for k, r in results.items() if k.startswith(f"{kind}[")}
            if mine:
                panels = [
                    Panel(cell_id, _lens_series(r), "probability") for cell_id, r in mine.items()
                ]
                figures.append(Figure(kind, panels))
        energy = _energy_panels(results)
        if energy:
            figures.append(Figure("energy", energy))
        if PROBE in results:
            probe = results[PROBE]
            curve = Series(probe.curves["probe_accuracy"], "accuracy", "tab:green", markers=True)
            title = f"input language, {probe.metrics['classes']:.0f} languages"
            panel = Panel(
                title, [curve], "held-out accuracy", (probe.metrics["chance"], "chance"), (0, 1.02)
            )
            figures.append(Figure("probe", [panel]))
        return figures


def _lens_series(result: CellResult) -> list[Series]:
    series = []
    for name, colour, label in (
        ("p_target", "tab:blue", "target"),
        ("p_latent", "tab:orange", "English"),
    ):
        if name in result.curves:
            series.append(Series(result.curves[name], label, colour, result.curves[f"{name}_band"]))
        if f"ablated_{name}" in result.curves:
            series.append(
                Series(result.curves[f"ablated_{name}"], f"{label}, ablated", colour, dashed=True)
            )
    return series


def _energy_panels(results: Mapping[str, CellResult]) -> list[Panel]:
    """A panel per prompt kind, a curve per cell; cells of results files without the curve are skipped."""
    panels = []
    for kind in PROMPT_KINDS:
        mine = {
            k: r for k, r in results.items() if k.startswith(f"{kind}[") and "energy" in r.curves
        }
        if mine:
            series = [
                Series(r.curves["energy"], cell_id, colour, r.curves["energy_band"])
                for (cell_id, r), colour in zip(mine.items(), cycle(_TAB_COLOURS), strict=False)
            ]
            panels.append(Panel(kind, series, "token energy"))
    return panels


#: matplotlib's tab colours, in its order; cells beyond ten repeat them
_TAB_COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)

PROBE = "probe[language]"

RULES = (
    Rule("min_probe_accuracy", "best_accuracy", "best probe accuracy", cell_id_is(PROBE), 2),
    Rule("min_final_accuracy", "final_accuracy", "final accuracy", cell_id_is_not(PROBE), 2),
)


#: (metric, unit) of the rates a cell averages over items: lens cells' (False), the probe's (True)
UNIT_RATES = {
    False: (
        ("final_accuracy", "final_top1"),
        ("final_target_prob", "final_p_target"),
        ("latent_peak_prob", "peak_p_latent"),
    ),
    True: (("best_accuracy", "best_hits"), ("final_accuracy", "final_hits")),
}


def _per_item(lens: Lens, measure: str, layer: int) -> np.ndarray:
    """One measure of every item at one of the decoded layers, as float64."""
    values: np.ndarray = lens.values[MEASURES.index(measure), :, layer].double().cpu().numpy()
    return values


def _cell_id(kind: str, source: str, target: str) -> str:
    return f"{kind}[{source}>{target}]" if kind == "translation" else f"{kind}[{target}]"


def _lens_row(cell_id: str, r: CellResult) -> list[str]:
    m = r.metrics

    def number(key: str, form: str = ".2f") -> str:
        return format(m[key], form) if key in m else "-"

    def with_bounds(key: str) -> str:
        return estimate(m, key) if key in m else "-"

    peak_text = (
        f"L{m['latent_peak_layer']:.0f} ({m['latent_peak_prob']:.2f})"
        if "latent_peak_layer" in m
        else "-"
    )
    ahead = f"L{m['target_ahead_layer']:.0f}" if "target_ahead_layer" in m else "-"
    return [
        cell_id,
        number("items", ".0f"),
        with_bounds("final_accuracy"),
        number("final_target_prob"),
        peak_text,
        ahead,
        with_bounds("target_drop"),
        with_bounds("control_drop"),
        "yes" if r.passed else "no",
    ]


def _scores(
    task: TaskSpec[LatentSpec], lens: Mapping[str, CellResult], probes: Mapping[str, CellResult]
) -> dict[str, float]:
    """Means over cells; the headline ``drop_beyond_control``, with its interval where it can."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    scores: dict[str, float] = {}
    if lens:
        values = list(lens.values())
        for score, key in (
            ("mean_final_accuracy", "final_accuracy"),
            ("mean_latent_peak_prob", "latent_peak_prob"),
            ("mean_target_drop", "target_drop"),
            ("mean_control_drop", "control_drop"),
        ):
            found = [r.metrics[key] for r in values if key in r.metrics]
            if found:
                scores[score] = mean(found)
    if {"mean_target_drop", "mean_control_drop"} <= set(scores):
        # final target probability lost to the target's neurons beyond what the control loses
        scores["drop_beyond_control"] = scores["mean_target_drop"] - scores["mean_control_drop"]
        ablated = {k: r for k, r in lens.items() if "target_drop" in r.metrics}
        if all(r.units for r in ablated.values()):
            low, high = interval(_drop_beyond_control_replicates(task, ablated))
            scores["drop_beyond_control_lo"], scores["drop_beyond_control_hi"] = low, high
    if probes:
        scores["mean_probe_best_accuracy"] = mean(
            [r.metrics["best_accuracy"] for r in probes.values()]
        )
    results = [*lens.values(), *probes.values()]
    scores["cells_passing"] = float(sum(r.passed for r in results))
    scores["cells"] = float(len(results))
    return scores


def _drop_beyond_control_replicates(
    task: TaskSpec[LatentSpec], ablated: Mapping[str, CellResult]
) -> np.ndarray:
    """Bootstrap replicates of the headline, from each item's drops in every ablated cell.

    A cell's items and its control draws are resampled as its own intervals were
    (the same keys and seed).
    """
    seed = task.fields.control.seed
    per_cell = []
    for cell in Latent().cells(task):
        found = ablated.get(cell.id)
        if found is None:
            continue
        drop = np.asarray(found.units["target_drop"])
        draws = int(found.metrics["control_draws"])
        controls = np.asarray([found.units[f"control_drop_{i}"] for i in range(draws)])
        picks = unit_indices(len(drop), seed, cell.id)
        chosen = draw_indices(draws, seed, f"{task.name}/{cell.params['target']}")
        per_cell.append(drop[picks].mean(axis=1) - over_draws(controls, picks, chosen))
    replicates: np.ndarray = np.mean(per_cell, axis=0)
    return replicates


class _Evaluator:
    def __init__(self, task: TaskSpec[LatentSpec], context: RunContext) -> None:
        self.task = task
        self.fields: LatentSpec = task.fields
        self.context = context
        self.concepts = load_concepts(self.fields.data.path)
        self.concepts.require([*task.languages, self.fields.latent])
        self.layers = list(range(context.handle.info.num_layers))
        control = self.fields.control
        self.controls = [
            control_draw(context.neuron_set, control.seed, i) for i in range(control.draws)
        ]

    def evaluate(self, cell: Cell) -> CellResult:
        result = self.probe(cell) if cell.id == PROBE else self.lens_cell(cell)
        failures = task_kind(self.task.kind).failures(self.task, cell, result.metrics)
        return replace(result, failures=failures)

    @property
    def tokens(self) -> AnswerTokens:
        key = ("answer_tokens", self.context.handle.info.name)
        if key not in self.context.shared:
            self.context.shared[key] = AnswerTokens(self.context.handle.tokenizer)
        tokens: AnswerTokens = self.context.shared[key]
        return tokens

    def plain(self, cell: Cell) -> tuple[Items, Lens | None]:
        """The cell's items and the unmodified model's lens (shared by every neuron set)."""
        key = (self.task.name, self.task.sha256, "plain", cell.id)
        if key not in self.context.shared:
            kind = cell.params["prompt"]
            examples = (
                self.fields.cloze_examples if kind == "cloze" else self.fields.translation_examples
            )
            items = build_items(
                self.concepts,
                kind,  # type: ignore[arg-type]
                cell.params["source"],
                cell.params["target"],
                examples,
                self.fields.seed,
                self.tokens,
                self.fields.latent,
            )
            lens = self._measure(items, self.layers, cell.id) if items.items else None
            self.context.shared[key] = (items, lens)
        found: tuple[Items, Lens | None] = self.context.shared[key]
        return found

    def _measure(self, items: Items, layers: list[int], label: str) -> Lens:
        with self.context.timings.phase("logit lens"):
            return measure(
                self.context.handle,
                items.items,
                layers,
                self.fields.batch_size,
                self.context.progress,
                label,
            )

    @property
    def token_energy(self) -> TokenEnergy:
        """The model's :class:`TokenEnergy`, built once per model for every task and neuron set."""
        handle = self.context.handle
        key = ("token_energy", handle.info.name)
        if key not in self.context.shared:
            with self.context.timings.phase("token energy"):
                self.context.shared[key] = TokenEnergy.of(handle.model, handle.architecture)
        energy: TokenEnergy = self.context.shared[key]
        return energy

    def lens_cell(self, cell: Cell) -> CellResult:
        """The cell's metrics and curves; :meth:`Latent.failures` judges them."""
        target = cell.params["target"]
        items, lens = self.plain(cell)
        metrics = {"items": float(len(items.items))}
        metrics |= {f"dropped_{reason}": float(n) for reason, n in items.dropped.items()}
        if lens is None:
            return CellResult(metrics)
        metrics["layers"] = float(len(self.layers))
        curves = {
            "p_target": lens.mean("p_target"),
            "p_target_band": lens.band("p_target"),
            "entropy": lens.mean("entropy"),
            "accuracy": lens.mean("top1_target"),
        }
        curves |= self._energy_curves(lens)
        units = {
            "final_top1": _per_item(lens, "top1_target", -1).tolist(),
            "final_p_target": _per_item(lens, "p_target", -1).tolist(),
        }
        metrics["final_entropy"] = curves["entropy"][-1]
        if target != self.fields.latent:
            curves |= {
                "p_latent": lens.mean("p_latent"),
                "p_latent_band": lens.band("p_latent"),
                "latent_first": lens.mean("latent_first"),
            }
            top = peak(curves["p_latent"])
            metrics["latent_peak_layer"] = float(top)
            units["peak_p_latent"] = _per_item(lens, "p_latent", top).tolist()
            metrics["latent_first_rate_at_peak"] = curves["latent_first"][top]
            ahead = overtake(curves["p_target"], curves["p_latent"], top)
            if ahead is not None:
                metrics["target_ahead_layer"] = float(ahead)
        if self.fields.ablate:
            ablated, ablated_units = self._ablation(items, lens, target, curves)
            metrics |= ablated
            units |= ablated_units
        metrics |= Latent().unit_metrics(self.task, cell, lambda _: units)
        return CellResult(metrics, curves=curves, units=units)

    def _energy_curves(self, lens: Lens) -> dict[str, list[float]]:
        """Mean token energy over items per layer, and the same 95 % band as :meth:`Lens.band`."""
        items, layers, hidden = lens.states.shape
        energy = self.token_energy.energy(lens.states.reshape(items * layers, hidden))
        values = energy.reshape(items, layers)
        band = (1.96 * values.std(0) / math.sqrt(items)).tolist() if items > 1 else [0.0] * layers
        return {"energy": values.mean(0).tolist(), "energy_band": band}

    def _ablation(
        self, items: Items, lens: Lens, target: str, curves: dict[str, list[float]]
    ) -> tuple[dict[str, float], dict[str, list[float]]]:
        """Metrics of the ablated and control passes, and the per-item drops they average."""
        handle = self.context.handle
        with ablation(handle, self.context.neuron_set, target):
            ablated = self._measure(items, self.layers, f"ablate {target}")
        controls = []
        for i, control in enumerate(self.controls):
            with ablation(handle, control, target):
                label = f"control {i + 1}/{len(self.controls)} {target}"
                controls.append(self._measure(items, self.layers[-1:], label))
        curves["ablated_p_target"] = ablated.mean("p_target")
        curves["ablated_p_target_band"] = ablated.band("p_target")
        if target != self.fields.latent:
            curves["ablated_p_latent"] = ablated.mean("p_latent")
            curves["ablated_p_latent_band"] = ablated.band("p_latent")
        final = _per_item(lens, "p_target", -1)
        metrics = {
            "ablated_final_target_prob": curves["ablated_p_target"][-1],
            "ablated_final_accuracy": ablated.mean("top1_target")[-1],
            "control_final_target_prob": float(np.mean([c.mean("p_target")[-1] for c in controls])),
        }
        units = {"target_drop": (final - _per_item(ablated, "p_target", -1)).tolist()}
        for i, c in enumerate(controls):
            units[f"control_drop_{i}"] = (final - _per_item(c, "p_target", -1)).tolist()
        return metrics, units

    def probe(self, cell: Cell) -> CellResult:
        """The probe's metrics and curve; :meth:`Latent.failures` judges them."""
        import torch

        states, labels, concepts = [], [], []
        for index, lang in enumerate(self.task.languages):
            sentences = paragraphs(self.task.corpus, lang, "evaluate")
            states.append(self._sentence_states(sentences))
            labels += [index] * len(sentences)
            concepts += [c.name for c in self.concepts.concepts]
        features = torch.cat(states)
        y = torch.tensor(labels)
        test = held_out(concepts, self.fields.probe.held_out, self.fields.seed)
        train = torch.tensor([c not in test for c in concepts])
        with self.context.timings.phase("linear probe"):
            hits = [
                probe_hits(features[:, layer], y, train, self.fields.probe.l2)
                for layer in self.layers
            ]
        curve = [float(h.mean()) for h in hits]
        counts = torch.bincount(y[~train], minlength=len(self.task.languages))
        best = peak(curve)
        metrics = {
            "items": float(len(labels)),
            "test_items": float(int((~train).sum())),
            "classes": float(len(self.task.languages)),
            "chance": float(counts.max()) / float(counts.sum()),
            "best_layer": float(best),
        }
        # over the held-out items, at the layer chosen on them (an interval given the layer)
        units = {"best_hits": hits[best].tolist(), "final_hits": hits[-1].tolist()}
        metrics |= Latent().unit_metrics(
            self.task, Cell(self.task.name, PROBE, {}), lambda _: units
        )
        return CellResult(metrics, curves={"probe_accuracy": curve}, units=units)

    def _sentence_states(self, sentences: list[str]) -> torch.Tensor:
        import torch

        handle, size = self.context.handle, self.fields.batch_size
        with self.context.timings.phase("probe states"):
            batches = state_batches(handle, sentences, self.layers, size)
            return torch.cat([states.float().cpu() for states in batches])


KINDS.add("latent", Latent())
