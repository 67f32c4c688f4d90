"""The pytest plugin: options, cell parametrization, recording, the results files.

Loaded by the root ``conftest.py`` (not an entry point, so other projects in the
same environment are unaffected). Check modules in ``benchmark/`` declare
``KIND`` and take the ``cell`` and ``evaluate`` fixtures; the plugin parametrizes
them over every (neuron set, task of that kind, cell). Bad options or task files
end the run with one ``ERROR:`` line before any model loads.

Each cell's record rides on its test report, so under pytest-xdist a worker's
cells reach the controller as they finish; the controller alone writes the
results files (one per neuron set, marked complete or not) and prints the summary.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from langneurons.errors import LangneuronsError
from langneurons.models.handle import DEVICES, DTYPES
from langneurons.report import results as results_format
from langneurons.report.tables import table
from langneurons.run.session import (
    BenchmarkSession,
    RunOptions,
    check_output_folder,
    resolve_tasks,
)
from langneurons.tasks.protocol import Cell, CellResult, fail_non_finite, task_kind
from langneurons.tasks.spec import TaskSpec

_SESSION = pytest.StashKey[BenchmarkSession]()
_ERROR = pytest.StashKey[str]()
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()
_RUN = pytest.StashKey[dict[str, Any]]()
_WRITTEN = pytest.StashKey[list[tuple[Path, bool]]]()
_FIGURES = pytest.StashKey[list[Path]]()
_STARTED = pytest.StashKey[float]()
_OUTPUT_KEY = "langneurons"


@dataclass(frozen=True)
class PlannedCell:
    """What a check evaluates: a cell of a task, for one neuron set."""

    neurons: str
    task: str
    cell: Cell


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the benchmark options (help text: what it is, then the default)."""
    group = parser.getgroup("langneurons", "langneurons benchmark")
    add = group.addoption
    add(
        "--model",
        default="gemma-3-270m",
        help="alias, Hugging Face id or local folder (default: gemma-3-270m)",
    )
    add("--revision", default=None, help="hub branch, tag or commit of a Hugging Face id")
    add(
        "--neurons",
        default="lape",
        help="comma-separated methods or neuron set files (.json or with a /) (default: lape)",
    )
    add(
        "--tasks",
        default=None,
        help="comma-separated task names or files (default: every tasks/*.yaml)",
    )
    add("--langs", default=None, help="comma-separated languages to keep from each task")
    add("--results-dir", default="results", help="where the results files go (default: results)")
    add("--device", default="auto", choices=DEVICES, help="cpu, cuda or auto (default: auto)")
    add(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="model dtype; auto is bfloat16 on CUDA and on CPUs with native bf16, else float32",
    )
    add("--batch-size", type=int, default=4, help="windows per forward pass (default: 4)")
    add("--seed", type=int, default=0, help="seed of random controls (default: 0)")
    add(
        "--trust-task-code",
        action="store_true",
        help="let task files run code they name (lm-eval's !function); off by default",
    )
    add(
        "--identify-data",
        default="udhr",
        help="corpus methods identify on, source or source:path (default: udhr)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Prepare the stash."""
    config.stash[_RECORDS] = []
    config.stash[_RUN] = {"evaluators": {}, "planned": {}, "provenance": {}}
    if not hasattr(config, "workerinput"):  # a worker's reports go to the controller
        config.pluginmanager.register(_Recorder(config.stash[_RECORDS]), "langneurons-recorder")
    config.stash[_WRITTEN] = []
    config.stash[_FIGURES] = []
    config.stash[_STARTED] = time.perf_counter()


def session_for(config: pytest.Config) -> BenchmarkSession | None:
    """Return the run's session, creating (and validating) it on first use.

    The results folder is checked here, not by the session: only pytest runs write
    results, and a folder that cannot be written would otherwise fail after every
    cell ran.
    """
    if _SESSION in config.stash:
        return config.stash[_SESSION]
    if _ERROR in config.stash:
        return None
    try:
        options = _options(config)
        check_output_folder(options.results_dir, "--results-dir")
        config.stash[_SESSION] = BenchmarkSession(options)
    except LangneuronsError as error:
        config.stash[_ERROR] = str(error)
        return None
    return config.stash[_SESSION]


def _options(config: pytest.Config) -> RunOptions:
    get = config.getoption
    folder = Path(str(config.rootpath)) / "tasks"
    given = [spec.strip() for spec in (get("tasks") or "").split(",") if spec.strip()]
    tasks = resolve_tasks(given, folder) if given else tuple(sorted(folder.glob("*.yaml")))
    return RunOptions(
        model=get("model"),
        revision=get("revision"),
        neurons=get("neurons"),
        tasks=tasks,
        langs=tuple(get("langs").split(",")) if get("langs") else None,
        results_dir=Path(get("results_dir")),
        device=get("device"),
        dtype=get("dtype"),
        batch_size=get("batch_size"),
        seed=get("seed"),
        identify_data=get("identify_data"),
        trust_task_code=get("trust_task_code"),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``cell`` over (neuron set, task of the module's KIND, cell)."""
    if "cell" not in metafunc.fixturenames:
        return
    kind = metafunc.module.KIND
    session = session_for(metafunc.config)
    tasks = [t for t in session.tasks if t.kind == kind] if session else []
    specs = session.specs if session else []
    planned = [
        PlannedCell(spec, task.name, cell)
        for spec in specs
        for task in tasks
        for cell in task_kind(kind).cells(task)
    ]
    metafunc.parametrize("cell", planned, ids=[_id(p, len(specs), len(tasks)) for p in planned])


def _id(planned: PlannedCell, specs: int, tasks: int) -> str:
    parts = [Path(planned.neurons).stem] if specs > 1 else []
    parts += [planned.task] if tasks > 1 else []
    return "/".join([*parts, planned.cell.id])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the cells each neuron set and task will run (after -k/-m deselection).

    Every process that collects (each xdist worker collects the same items) counts
    them; the counts ride on each cell's record, so the controller can tell
    whether a results file holds every cell the run set out to evaluate.
    """
    planned: dict[str, dict[str, int]] = {}
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        cell = callspec.params.get("cell") if callspec is not None else None
        if isinstance(cell, PlannedCell):
            tasks = planned.setdefault(cell.neurons, {})
            tasks[cell.task] = tasks.get(cell.task, 0) + 1
    session.config.stash[_RUN]["planned"] = planned


def pytest_collection_modifyitems(config: pytest.Config) -> None:
    """Turn a validation error into a one-line usage error, before anything loads."""
    if _ERROR in config.stash:
        raise pytest.UsageError(config.stash[_ERROR])


@pytest.fixture(scope="session")
def langneurons_session(request: pytest.FixtureRequest) -> BenchmarkSession:
    """The run's session (validated at collection)."""
    session = session_for(request.config)
    assert session is not None  # collection fails before this on bad input
    _share_cores_between_workers(request.config)
    return session


def _share_cores_between_workers(config: pytest.Config) -> None:
    """Under xdist, give each worker its share of the cores instead of all of them."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture
def evaluate(
    request: pytest.FixtureRequest, langneurons_session: BenchmarkSession
) -> Callable[[PlannedCell], CellResult]:
    """Evaluate a planned cell and record it (before the check asserts).

    The record travels in the test report's ``user_properties``: pytest (and
    xdist, from a worker) hands it to the controller as soon as the cell ends, so
    an interrupted run keeps every cell that finished.
    """
    session = langneurons_session
    run = request.config.stash[_RUN]
    evaluators: dict[tuple[str, str], Callable[[Cell], CellResult]] = run["evaluators"]
    provenance: dict[str, dict[str, Any]] = run["provenance"]  # per set: built once, sent per cell

    def evaluate_cell(planned: PlannedCell) -> CellResult:
        context = session.context(planned.neurons)
        task = _task(session, planned.task)
        key = (planned.neurons, task.name)
        if key not in evaluators:
            evaluators[key] = task_kind(task.kind).evaluator(task, context)
        result = fail_non_finite(evaluators[key](planned.cell))
        if planned.neurons not in provenance:
            provenance[planned.neurons] = {
                "model": context.handle.info.to_dict(),
                "neuron_set": _set_record(session, planned.neurons, context.neuron_set),
                "planned": run["planned"].get(planned.neurons, {}),
            }
        record = {
            "neurons": planned.neurons,
            "task": task.name,
            "id": planned.cell.id,
            "params": dict(planned.cell.params),
            "metrics": result.metrics,
            "passed": result.passed,
            "failures": result.failures,
            "curves": result.curves,
            "info": result.info,
            **provenance[planned.neurons],
        }
        request.node.user_properties.append((_OUTPUT_KEY, record))
        return result

    return evaluate_cell


def _task(session: BenchmarkSession, name: str) -> TaskSpec:
    return next(t for t in session.tasks if t.name == name)


def _set_record(session: BenchmarkSession, spec: str, chosen: Any) -> dict[str, Any]:
    return {
        "sha256": chosen.sha256(),
        "method": chosen.method,
        "source": str(session.neurons_paths[spec]),
        "neurons": {lang: chosen.count(lang) for lang in chosen.languages},
        "per_layer": {lang: chosen.counts_per_layer(lang) for lang in chosen.languages},
        "statistics": chosen.statistics,
    }


class _Recorder:
    """Keeps the record of every evaluated cell; a worker's arrive in the controller's."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the record a cell's report carries."""
        if report.when == "call":
            props = report.user_properties
            self.records += [v for k, v in props if k == _OUTPUT_KEY and isinstance(v, dict)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Ship timings to the controller (worker), or write the results files (controller)."""
    config = session.config
    timings = config.stash[_SESSION].timings.seconds if _SESSION in config.stash else {}
    if hasattr(config, "workeroutput"):
        config.workeroutput[_OUTPUT_KEY] = json.dumps({"timings": dict(timings)})
        return
    # a cell reported twice (a rerun, a rescheduled worker) counts once, as last reported
    records = list({(r["neurons"], r["task"], r["id"]): r for r in config.stash[_RECORDS]}.values())
    stopped = exitstatus == pytest.ExitCode.INTERRUPTED or bool(
        session.shouldstop or session.shouldfail
    )
    for spec in dict.fromkeys(r["neurons"] for r in records):
        mine = [r for r in records if r["neurons"] == spec]
        config.stash[_WRITTEN].append(_write_results(config, spec, mine, timings, stopped))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Add a worker's phase timings to the controller's."""
    output = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if not output:
        return
    timings = node.config.stash[_RUN].setdefault("worker_timings", {})
    for phase, seconds in json.loads(output)["timings"].items():
        timings[phase] = timings.get(phase, 0.0) + seconds


def _timings(config: pytest.Config, own: dict[str, float]) -> dict[str, float]:
    timings = {**own, **config.stash[_RUN].get("worker_timings", {})}
    timings["wall"] = time.perf_counter() - config.stash[_STARTED]
    return timings


def _write_results(
    config: pytest.Config,
    spec: str,
    records: list[dict[str, Any]],
    timings: dict[str, float],
    stopped: bool,
) -> tuple[Path, bool]:
    """Write one neuron set's results file.

    It is ``complete`` when the run was not stopped early and every cell it
    collected for the set, in every task, has a record.
    """
    from langneurons.provenance import environment

    session = session_for(config)
    assert session is not None
    tasks = []
    finished = []  # (task, its cell results), drawn once the file is written
    planned: dict[str, int] = records[0]["planned"]
    ran = {name: sum(r["task"] == name for r in records) for name in planned}
    complete = not stopped and ran == planned
    for task in session.tasks:
        mine = [r for r in records if r["task"] == task.name]
        if not mine:
            continue
        finished.append((task, _cell_results(mine)))
        summary = task_kind(task.kind).summarize(task, finished[-1][1])
        tasks.append(
            {
                "name": task.name,
                "kind": task.kind,
                "version": task.fields.version,
                "spec_sha256": task.sha256,
                "spec": task.fields.model_dump(mode="json"),
                "cells": [_cell_record(r) for r in mine],
                "summary": {k: results_format.finite_or_none(v) for k, v in summary.scores.items()},
            }
        )
    created = results_format.now()
    document = results_format.from_dict(
        {
            "format": results_format.FORMAT,
            "created": created.isoformat(),
            "model": records[0]["model"],
            "neuron_set": records[0]["neuron_set"],
            "tasks": tasks,
            "environment": environment(),
            "seeds": {"control": session.options.seed},
            "timings": {k: round(v, 3) for k, v in _timings(config, timings).items()},
            "command": shlex.join(["pytest", *config.invocation_params.args]),
            "complete": complete,
        }
    )
    name = f"{session.source.name}_{Path(spec).stem}_{created.strftime('%Y%m%dT%H%M%SZ')}.json"
    path = Path(session.options.results_dir) / name
    results_format.dump(document, path)
    for task, cell_results in finished:
        figures = task_kind(task.kind).figures(task, cell_results, path.with_suffix(""))
        config.stash[_FIGURES].extend(figures)
    return path, complete


def _cell_record(record: dict[str, Any]) -> dict[str, Any]:
    """A cell as results files hold it: non-finite numbers as null (its cell has failed)."""
    cell = {k: record[k] for k in ("id", "params", "passed", "failures", "info")}
    cell["metrics"] = {k: results_format.finite_or_none(v) for k, v in record["metrics"].items()}
    cell["curves"] = {
        k: [results_format.finite_or_none(v) for v in values]
        for k, values in record["curves"].items()
    }
    return cell


def _cell_results(records: list[dict[str, Any]]) -> dict[str, CellResult]:
    return {
        r["id"]: CellResult(r["metrics"], r["failures"], r["curves"], r["info"]) for r in records
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print each task's table per neuron set, a comparison of sets, timings and files."""
    records = config.stash[_RECORDS]
    session = config.stash.get(_SESSION, None)
    if not records or session is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("langneurons")
    run = config.stash[_RUN]
    model = records[0]["model"]
    write(
        f"model {model['name']} ({model['revision']}), {model['dtype']} on {model['device']}"
        f" ({model['dtype_choice']})"
    )
    scores: dict[str, dict[str, float]] = {}
    for spec in session.specs:
        for task in session.tasks:
            mine = [r for r in records if r["task"] == task.name and r["neurons"] == spec]
            if not mine:
                continue
            summary = task_kind(task.kind).summarize(task, _cell_results(mine))
            passed = sum(r["passed"] for r in mine)
            write("")
            write(f"{task.name}, neurons: {spec} ({len(mine)} cells, {passed} passed)")
            write(summary.table)
            write("scores: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.scores.items()))
            scores[spec] = {
                **scores.get(spec, {}),
                **{f"{task.name}.{k}": v for k, v in summary.scores.items()},
            }
    if len(scores) > 1:  # a row per score, a column per set: stays narrow with many scores
        names = sorted({k for s in scores.values() for k in s})
        write("")
        write("neuron sets side by side")
        rows = [
            [
                name,
                *(f"{scores[spec][name]:.3f}" if name in scores[spec] else "-" for spec in scores),
            ]
            for name in names
        ]
        write(table(["score", *scores], rows))
    label = "seconds (phases summed over workers)" if "worker_timings" in run else "seconds"
    timings = _timings(config, session.timings.seconds)
    write("")
    write(f"{label}: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    for path, complete in config.stash[_WRITTEN]:
        write(
            f"results: {path}" + ("" if complete else " (incomplete: not every planned cell ran)")
        )
    for path in config.stash[_FIGURES]:
        write(f"figure: {path}")
