"""Task kinds: the code that turns a task spec into cells and evaluates them.

A *cell* is one check pytest runs (e.g. ``ablate[zh]-eval[ja]``). A kind declares
its spec model, lists its cells from the spec alone (cheap: collection needs no
model), evaluates a cell given a :class:`~langneurons.tasks.context.RunContext`, and
summarises finished cells into scores and a table. Kinds register in ``KINDS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from langneurons.registry import Registry

if TYPE_CHECKING:
    from langneurons.tasks.context import RunContext
    from langneurons.tasks.spec import TaskFields, TaskSpec


@dataclass(frozen=True)
class Cell:
    """One check: its id within the task and the parameters that define it."""

    task: str
    id: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class CellResult:
    """What one cell measured and which of the task's checks it failed.

    ``curves`` holds per-layer series (one value per layer) for kinds that have them;
    ``info`` holds facts that are not numbers (e.g. the hash of an lm-eval task);
    ``units`` holds the per-unit values (one per window, prompt, item or document)
    that the cell's intervals resample, so that an interval over several cells (a
    headline's) can be recomputed from a results file.
    """

    metrics: dict[str, float]
    failures: list[str] = field(default_factory=list)
    curves: dict[str, list[float]] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    units: dict[str, list[float]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every check of the cell held."""
        return not self.failures


def fail_non_finite(result: CellResult) -> CellResult:
    """``result`` with a failure for every NaN or infinite metric or curve value.

    Applied to every cell the plugin evaluates, whatever its kind: a comparison
    with NaN is false, so a threshold check alone lets a NaN cell pass (every
    perplexity of a float16 run on CPU is NaN).
    """
    bad = [
        f"metric {name} is {value} (not finite)"
        for name, value in result.metrics.items()
        if not math.isfinite(value)
    ]
    bad += [
        f"curve {name} has non-finite values"
        for name, values in result.curves.items()
        if not all(math.isfinite(v) for v in values)
    ]
    return replace(result, failures=[*result.failures, *bad]) if bad else result


@dataclass(frozen=True)
class Series:
    """One per-layer curve of a panel, optionally with a band of +- ``band`` around it."""

    values: Sequence[float]
    label: str
    colour: str
    band: Sequence[float] | None = None
    dashed: bool = False
    markers: bool = False


@dataclass(frozen=True)
class Panel:
    """Curves over layers that share axes, with an optional horizontal reference line."""

    title: str
    series: Sequence[Series]
    y_label: str
    reference: tuple[float, str] | None = None
    y_limits: tuple[float, float] | None = None


@dataclass(frozen=True)
class Figure:
    """What a kind wants drawn: panels side by side, saved as ``<results stem>.<task>.<name>.png``.

    A kind describes its figures as data; :mod:`langneurons.report.plots` draws
    them, so tasks never import the drawing stage.
    """

    name: str
    panels: Sequence[Panel]


@dataclass(frozen=True)
class Headline:
    """A kind's leaderboard score (higher is better): one of its summary scores.

    Attributes:
        name: the summary score it is, e.g. ``specificity``; the summary holds its
            95 % interval as ``name_lo`` and ``name_hi`` where the cells carry the
            units to compute it.
        label: how the leaderboard names it.
    """

    name: str
    label: str

    def score(self, scores: Mapping[str, float]) -> float | None:
        """The headline, None where the summary lacks it."""
        return scores.get(self.name)

    def bounds(self, scores: Mapping[str, float]) -> tuple[float, float] | None:
        """The headline's 95 % interval, None where the summary has none."""
        low, high = scores.get(f"{self.name}_lo"), scores.get(f"{self.name}_hi")
        return None if low is None or high is None else (low, high)


@dataclass(frozen=True)
class View:
    """What the leaderboard page draws of one task of an entry.

    Attributes:
        chart: ``heatmap`` (rows ``[row, column, value, low, high]``), ``bars`` (rows
            ``[label, value, mark, mark, low, high]``, fractions) or ``curves`` (rows
            ``[name, values, group, dashed]``: a series per row, coloured by group);
            ``low`` and ``high`` are the value's 95 % interval, null where it has none.
        title: the plot's heading.
        rows: the data, JSON-able; non-finite numbers are dropped by the page builder.
        scale: how a heatmap shades and prints values: ``log`` (ratios) or ``linear``.
        legend: what a heatmap's values are ("PPL ratio").
    """

    chart: Literal["heatmap", "bars", "curves"]
    title: str
    rows: Sequence[Sequence[object]]
    scale: Literal["log", "linear"] = "linear"
    legend: str = ""


@dataclass(frozen=True)
class Summary:
    """A task's headline scores and a plain-text table for the terminal."""

    scores: dict[str, float]
    table: str


#: the spec model of a kind
F = TypeVar("F", bound="TaskFields")

#: a cell's per-unit values by the cell's id (a record's ``units``); KeyError when absent
UnitsOf = Callable[[str], Mapping[str, Sequence[float]]]


class TaskKind(Protocol[F]):
    """What a task kind provides: everything the plugin, the leaderboard and its page need.

    Nothing outside a kind's module branches on its name: they call these.
    """

    name: str
    spec_model: type[F]
    headline: Headline

    def cells(self, task: TaskSpec[F]) -> list[Cell]:
        """List the task's cells from the spec alone."""
        ...

    def preflight(self, task: TaskSpec[F], trust_task_code: bool) -> None:
        """Raise on anything the task needs that the run does not allow, before models load."""
        ...

    def evaluator(self, task: TaskSpec[F], context: RunContext) -> Callable[[Cell], CellResult]:
        """Return a function that evaluates cells, sharing work between them."""
        ...

    def failures(self, task: TaskSpec[F], cell: Cell, metrics: Mapping[str, float]) -> list[str]:
        """The checks of ``task`` that ``cell`` fails, from the cell's own metrics alone.

        Pure: every number a check reads is one of the cell's metrics. The kind's
        evaluator builds a cell's failures with it, and ``leaderboard submit``
        recomputes them from a results file with it, so a file cannot claim a pass
        its metrics do not give. Non-finite values are :func:`fail_non_finite`'s.

        Raises:
            KeyError: a metric a check reads is missing.
        """
        ...

    def unit_metrics(self, task: TaskSpec[F], cell: Cell, units: UnitsOf) -> dict[str, float]:
        """The metrics of ``cell`` that per-unit values determine, each interval's bounds too.

        Pure, like :meth:`failures`: the evaluator computes these metrics with it
        from the units it measured, and ``leaderboard submit`` recomputes them from
        a results file's units, so a file cannot claim an estimate or an interval
        its units do not give. A cell's units, and for a few metrics those of
        other cells of the task (the same ablation's other evaluated languages),
        come through ``units``. A metric whose units a file lacks (recorded before
        they were kept) is left out.

        Raises:
            KeyError: a cell this one's metrics need is missing.
        """
        ...

    def summarize(self, task: TaskSpec[F], results: Mapping[str, CellResult]) -> Summary:
        """Summarise finished cells (keyed by cell id)."""
        ...

    def detail(self, task: TaskSpec[F], results: Mapping[str, CellResult]) -> list[View]:
        """The leaderboard's plots of the finished cells (keyed by cell id)."""
        ...

    def figures(self, task: TaskSpec[F], results: Mapping[str, CellResult]) -> list[Figure]:
        """The task's figures, as data (none where the summary table says it all)."""
        ...


KINDS: Registry[TaskKind[Any]] = Registry("task kind")


def task_kind(name: str) -> TaskKind[Any]:
    """Return the registered kind ``name`` (raises ConfigError when unknown)."""
    import langneurons.tasks.kinds  # noqa: F401  (registers the kinds)

    return KINDS.get(name)
