"""The run's state: every evaluated cell, as a typed record, and what the run set out to do.

A cell's record rides on its test report (``user_properties``), so under
pytest-xdist a worker's cells reach the controller as they finish; there the
:class:`Recorder` collects them. Reports carry plain JSON-like data, so a record
crosses as :meth:`Evaluated.to_wire` and is rebuilt by :meth:`Evaluated.from_wire`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from langneurons.report.results import ModelRecord, NeuronSetRecord
from langneurons.tasks.protocol import Cell, CellResult, Summary, task_kind
from langneurons.tasks.spec import TaskFields, TaskSpec

if TYPE_CHECKING:
    import pytest

#: the key of a cell's record among its report's user properties
WIRE_KEY = "langneurons"


@dataclass(frozen=True)
class PlannedCell:
    """What a check evaluates: a cell of a task, for one neuron set."""

    neurons: str
    task: str
    cell: Cell

    def test_id(self, several_sets: bool) -> str:
        """``[set/]task/cell``: the set's stem only when the run compares sets."""
        return "/".join(
            [*([Path(self.neurons).stem] if several_sets else []), self.task, self.cell.id]
        )


def plan(specs: Sequence[str], tasks: Sequence[TaskSpec[TaskFields]]) -> list[PlannedCell]:
    """Every (neuron set, task, cell) of a run, in that order."""
    return [
        PlannedCell(s, t.name, c) for s in specs for t in tasks for c in task_kind(t.kind).cells(t)
    ]


@dataclass(frozen=True)
class SetFacts:
    """What every cell of one neuron set carries: built once per set.

    Attributes:
        model: the loaded model.
        neuron_set: the set under test.
        planned: cells collected per task for the set (after -k/-m deselection).
    """

    model: ModelRecord
    neuron_set: NeuronSetRecord
    planned: dict[str, int]


@dataclass(frozen=True)
class Evaluated:
    """One evaluated cell of a task, for one neuron set."""

    neurons: str
    task: str
    cell: Cell
    result: CellResult
    facts: SetFacts

    def to_wire(self) -> dict[str, object]:
        """The record as a report carries it: dicts, lists, strings and numbers."""
        return {
            "neurons": self.neurons,
            "task": self.task,
            "id": self.cell.id,
            "params": dict(self.cell.params),
            "metrics": self.result.metrics,
            "failures": self.result.failures,
            "curves": self.result.curves,
            "info": self.result.info,
            "units": self.result.units,
            "model": dict(self.facts.model),
            "neuron_set": self.facts.neuron_set.model_dump(mode="json"),
            "planned": self.facts.planned,
        }

    @classmethod
    def from_wire(cls, data: dict[str, object]) -> Evaluated:
        """Rebuild a record :meth:`to_wire` wrote (in this process or a worker)."""
        wire = _Wire.model_validate(data)
        return cls(
            wire.neurons,
            wire.task,
            Cell(wire.task, wire.id, wire.params),
            CellResult(wire.metrics, wire.failures, wire.curves, wire.info, wire.units),
            SetFacts(wire.model, wire.neuron_set, wire.planned),
        )


@dataclass(frozen=True)
class Finished:
    """One task's finished cells for one neuron set, summarised once."""

    task: TaskSpec[TaskFields]
    records: list[Evaluated]
    results: dict[str, CellResult]
    summary: Summary


@dataclass(eq=False)  # a plugin object: pluggy keys plugins by identity
class Recorder:
    """Collects the records of evaluated cells on the controller; a plugin object.

    Attributes:
        records: (neuron set, task, cell id) -> the last record reported for it
            (a rerun or a rescheduled worker reports a cell twice: it counts once).
        planned: per neuron set, the cells collected per task (after -k/-m deselection).
        worker_timings: phase seconds summed over xdist workers.
        written: results files written, each with whether it is complete.
        figures: figure files drawn.
        finished: per neuron set, its tasks as written into its results file.
        started: when the run began (``time.perf_counter``), for its wall time.
    """

    records: dict[tuple[str, str, str], Evaluated] = field(default_factory=dict)
    planned: dict[str, dict[str, int]] = field(default_factory=dict)
    worker_timings: dict[str, float] = field(default_factory=dict)
    written: list[tuple[Path, bool]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    finished: dict[str, list[Finished]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the record a cell's report carries."""
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == WIRE_KEY and isinstance(value, dict):
                record = Evaluated.from_wire(value)
                self.records[(record.neurons, record.task, record.cell.id)] = record

    def count_planned(self, cells: Iterable[PlannedCell]) -> None:
        """Count the cells each set and task will run (every process collects them all)."""
        for cell in cells:
            tasks = self.planned.setdefault(cell.neurons, {})
            tasks[cell.task] = tasks.get(cell.task, 0) + 1

    def add_worker_timings(self, timings: dict[str, float]) -> None:
        """Add a finished worker's phase seconds."""
        for phase, seconds in timings.items():
            self.worker_timings[phase] = self.worker_timings.get(phase, 0.0) + seconds

    def timings(self, own: dict[str, float]) -> dict[str, float]:
        """This process's phase seconds, the workers', and the run's wall time so far."""
        return {**own, **self.worker_timings, "wall": time.perf_counter() - self.started}

    def by_set(self) -> dict[str, list[Evaluated]]:
        """The records per neuron set, in the order sets first reported."""
        found: dict[str, list[Evaluated]] = {}
        for record in self.records.values():
            found.setdefault(record.neurons, []).append(record)
        return found


class _Wire(BaseModel):
    """The shape of a record on a report (checked: a worker runs the same version)."""

    model_config = ConfigDict(extra="forbid")

    neurons: str
    task: str
    id: str
    params: dict[str, str]
    metrics: dict[str, float]
    failures: list[str]
    curves: dict[str, list[float]]
    info: dict[str, str]
    units: dict[str, list[float]]
    model: ModelRecord
    neuron_set: NeuronSetRecord
    planned: dict[str, int]
