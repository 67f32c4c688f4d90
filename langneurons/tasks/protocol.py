"""Task kinds: the code that turns a task spec into cells and evaluates them.

A *cell* is one check pytest runs (e.g. ``ablate[zh]-eval[ja]``). A kind declares
its spec model, lists its cells from the spec alone (cheap: collection needs no
model), evaluates a cell given a :class:`~langneurons.tasks.context.RunContext`, and
summarises finished cells into scores and a table. Kinds register in ``KINDS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langneurons.registry import Registry

if TYPE_CHECKING:
    from pydantic import BaseModel

    from langneurons.tasks.context import RunContext
    from langneurons.tasks.spec import TaskSpec


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
    ``info`` holds facts that are not numbers (e.g. the hash of an lm-eval task).
    """

    metrics: dict[str, float]
    failures: list[str] = field(default_factory=list)
    curves: dict[str, list[float]] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)

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
class Summary:
    """A task's headline scores and a plain-text table for the terminal."""

    scores: dict[str, float]
    table: str


class TaskKind(Protocol):
    """What a task kind provides."""

    name: str
    spec_model: type[BaseModel]

    def cells(self, task: TaskSpec) -> list[Cell]:
        """List the task's cells from the spec alone."""
        ...

    def preflight(self, task: TaskSpec, trust_task_code: bool) -> None:
        """Raise on anything the task needs that the run does not allow, before models load."""
        ...

    def evaluator(self, task: TaskSpec, context: RunContext) -> Callable[[Cell], CellResult]:
        """Return a function that evaluates cells, sharing work between them."""
        ...

    def failures(self, task: TaskSpec, cell: Cell, metrics: Mapping[str, float]) -> list[str]:
        """The checks of ``task`` that ``cell`` fails, from the cell's own metrics alone.

        Pure: every number a check reads is one of the cell's metrics. The kind's
        evaluator builds a cell's failures with it, and ``leaderboard submit``
        recomputes them from a results file with it, so a file cannot claim a pass
        its metrics do not give. Non-finite values are :func:`fail_non_finite`'s.

        Raises:
            KeyError: a metric a check reads is missing.
        """
        ...

    def summarize(self, task: TaskSpec, results: Mapping[str, CellResult]) -> Summary:
        """Summarise finished cells (keyed by cell id)."""
        ...

    def figures(self, task: TaskSpec, results: Mapping[str, CellResult], stem: Path) -> list[Path]:
        """Draw the task's figures next to the results file ``stem`` (+ suffixes); return them."""
        ...


KINDS: Registry[Any] = Registry("task kind")


def task_kind(name: str) -> TaskKind:
    """Return the registered kind ``name`` (raises ConfigError when unknown)."""
    import langneurons.tasks.kinds  # noqa: F401  (registers the kinds)

    kind: TaskKind = KINDS.get(name)
    return kind
