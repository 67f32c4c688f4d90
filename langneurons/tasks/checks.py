"""Threshold checks, declared once per kind and applied by one function.

A task file's ``checks`` holds thresholds (``min_own_ratio: 2.0``). A kind maps
each threshold field to the metric it bounds and the cells it applies to with a
:class:`Rule`; :func:`failures` turns a cell's metrics into the messages of the
rules it breaks. ``min_*`` fields are lower bounds, ``max_*`` upper bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

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

    def broken(self, checks: BaseModel, cell: Cell, metrics: Mapping[str, float]) -> str | None:
        """The failure message when ``cell`` breaks the rule, else None.

        Raises:
            KeyError: the cell has no such metric.
        """
        if not self.scope(cell):
            return None
        bound = float(getattr(checks, self.field))
        value = metrics[self.metric]
        lower = self.field.startswith("min_")
        if not (value < bound if lower else value > bound):
            return None
        return f"{self.label} {value:.{self.digits}f} {'<' if lower else '>'} {getattr(checks, self.field)}"


def failures(
    rules: Sequence[Rule], checks: BaseModel, cell: Cell, metrics: Mapping[str, float]
) -> list[str]:
    """The messages of every rule ``cell`` breaks, in the order the rules are declared.

    A NaN metric breaks no rule here (a comparison with NaN is false);
    :func:`~langneurons.tasks.protocol.fail_non_finite` fails every such cell.
    """
    found = (rule.broken(checks, cell, metrics) for rule in rules)
    return [message for message in found if message is not None]
