"""Threshold checks, declared once per kind and applied by one function.

A task file's ``checks`` holds thresholds (``min_own_ratio: 2.0``). A kind maps
each threshold field to the metric it bounds and the cells it applies to with a
:class:`Rule`; :func:`failures` turns a cell's metrics into the messages of the
rules it breaks. ``min_*`` fields are lower bounds, ``max_*`` upper bounds.

A check applies to the point estimate unless the task lists it in
``use_bound``: then a ``min_*`` threshold bounds the metric's 95 % interval's
lower end and a ``max_*`` threshold its upper end (``own ratio lower bound 1.32 <
1.5``), so a cell passes only when the claim holds beyond the noise of its data
(see :mod:`langneurons.tasks.uncertainty`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langneurons.tasks.protocol import Cell

#: which cells a rule applies to
Scope = Callable[[Cell], bool]


def every_cell(cell: Cell) -> bool:
    """Scope of a rule that every cell must meet (e.g. the random control's)."""
    return True


def diagonal(row: str, column: str) -> Scope:
    """Scope of the cells whose ``row`` and ``column`` params agree (ablate[x]-eval[x])."""
    return lambda cell: cell.params[row] == cell.params[column]


def cell_id_is(cell_id: str) -> Scope:
    """Scope of the one cell with this id (e.g. the probe)."""
    return lambda cell: cell.id == cell_id


def cell_id_is_not(cell_id: str) -> Scope:
    """Scope of every cell but this one (e.g. the logit-lens rows)."""
    return lambda cell: cell.id != cell_id


class Checks(BaseModel):
    """A kind's thresholds; each kind extends this with its ``min_*`` and ``max_*`` fields.

    ``BOUNDED`` names the thresholds whose metric has an interval, the only ones
    ``use_bound`` may list.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    BOUNDED: ClassVar[frozenset[str]] = frozenset()

    use_bound: list[str] = Field(
        default=[],
        description="thresholds applied to the 95 % interval's bound (min_*: lower end, "
        "max_*: upper end) instead of the point estimate",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Checks:
        unknown = [name for name in self.use_bound if name not in self.BOUNDED]
        if unknown:
            allowed = ", ".join(sorted(self.BOUNDED)) or "none"
            raise ValueError(
                f"use_bound: {', '.join(unknown)} has no interval (allowed: {allowed})"
            )
        return self


@dataclass(frozen=True)
class Rule:
    """A threshold field of ``checks``: the metric it bounds, in which cells.

    Attributes:
        field: the threshold's name in the task's ``checks`` (``min_*`` or ``max_*``).
        metric: the cell metric it bounds.
        label: how a failure names the metric ("own ratio").
        scope: the cells the rule applies to.
        digits: decimals of the metric in the failure message.
    """

    field: str
    metric: str
    label: str
    scope: Scope = every_cell
    digits: int = 3

    def broken(self, checks: Checks, cell: Cell, metrics: Mapping[str, float]) -> str | None:
        """The failure message when ``cell`` breaks the rule, else None.

        Raises:
            KeyError: the cell has no such metric (or no interval, for a bound).
        """
        if not self.scope(cell):
            return None
        bound = float(getattr(checks, self.field))
        lower = self.field.startswith("min_")
        metric, label = self.metric, self.label
        if self.field in checks.use_bound:
            metric += "_lo" if lower else "_hi"
            label += " lower bound" if lower else " upper bound"
        value = metrics[metric]
        if not (value < bound if lower else value > bound):
            return None
        return (
            f"{label} {value:.{self.digits}f} {'<' if lower else '>'} {getattr(checks, self.field)}"
        )


def failures(
    rules: Sequence[Rule], checks: Checks, cell: Cell, metrics: Mapping[str, float]
) -> list[str]:
    """The messages of every rule ``cell`` breaks, in the order the rules are declared.

    A NaN metric breaks no rule here (a comparison with NaN is false);
    :func:`~langneurons.tasks.protocol.fail_non_finite` fails every such cell.
    """
    found = (rule.broken(checks, cell, metrics) for rule in rules)
    return [message for message in found if message is not None]
