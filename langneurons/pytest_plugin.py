"""The pytest plugin: options, cell parametrization, recording, the results file.

Loaded by the root ``conftest.py`` (not an entry point, so other projects in the
same environment are unaffected). Check modules in ``benchmark/`` declare
``KIND`` and take the ``cell`` and ``evaluate`` fixtures; the plugin parametrizes
them over the cells of every selected task of that kind. Bad options or task
files end the run with one ``ERROR:`` line before any model loads.

Under pytest-xdist each worker evaluates its share of cells and ships its records
through ``config.workeroutput``; the controller alone writes the results file and
prints the summary.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from langneurons import results as results_format
from langneurons.errors import LangneuronsError
from langneurons.model_handle import DEVICES, DTYPES
from langneurons.session import BenchmarkSession, RunOptions
from langneurons.task_kind import Cell, CellResult, task_kind

_SESSION = pytest.StashKey[BenchmarkSession]()
_ERROR = pytest.StashKey[str]()
_RECORDS = pytest.StashKey[list[dict[str, Any]]]()
_RUN = pytest.StashKey[dict[str, Any]]()
_WRITTEN = pytest.StashKey[Path]()
_STARTED = pytest.StashKey[float]()
_OUTPUT_KEY = "langneurons"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the benchmark options (help text: what it is, then the default)."""
    group = parser.getgroup("langneurons", "langneurons benchmark")
    group.addoption(
        "--model",
        default="gemma-3-270m",
        help="alias, Hugging Face id or local folder (default: gemma-3-270m)",
    )
    group.addoption(
        "--revision", default=None, help="hub branch, tag or commit of a Hugging Face id"
    )
    group.addoption(
        "--neurons",
        default="lape",
        help="neuron set file (.json) or method to identify one with (default: lape)",
    )
    group.addoption(
        "--tasks", default=None, help="comma-separated task files (default: every tasks/*.yaml)"
    )
    group.addoption(
        "--langs", default=None, help="comma-separated languages to keep from each task"
    )
    group.addoption(
        "--results-dir", default="results", help="where the results file goes (default: results)"
    )
    group.addoption(
        "--device", default="auto", choices=DEVICES, help="cpu, cuda or auto (default: auto)"
    )
    group.addoption(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="model dtype; auto is float32 on CPU, bfloat16 on CUDA",
    )
    group.addoption(
        "--batch-size", type=int, default=4, help="windows per forward pass (default: 4)"
    )
    group.addoption("--seed", type=int, default=0, help="seed of random controls (default: 0)")
    group.addoption(
        "--identify-data",
        default="udhr",
        help="corpus the neurons are identified on, source or source:path (default: udhr)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Prepare the stash."""
    config.stash[_RECORDS] = []
    config.stash[_RUN] = {}
    config.stash[_STARTED] = time.perf_counter()


def session_for(config: pytest.Config) -> BenchmarkSession | None:
    """Return the run's session, creating (and validating) it on first use."""
    if _SESSION in config.stash:
        return config.stash[_SESSION]
    if _ERROR in config.stash:
        return None
    try:
        config.stash[_SESSION] = BenchmarkSession(_options(config))
    except LangneuronsError as error:
        config.stash[_ERROR] = str(error)
        return None
    return config.stash[_SESSION]


def _options(config: pytest.Config) -> RunOptions:
    get = config.getoption
    root = Path(str(config.rootpath))
    tasks = (
        tuple(Path(p) for p in get("tasks").split(","))
        if get("tasks")
        else tuple(sorted((root / "tasks").glob("*.yaml")))
    )
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
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``cell`` over the cells of every selected task of the module's KIND."""
    if "cell" not in metafunc.fixturenames:
        return
    kind = metafunc.module.KIND
    session = session_for(metafunc.config)
    tasks = [t for t in session.tasks if t.kind == kind] if session else []
    pairs = [(task, cell) for task in tasks for cell in task_kind(kind).cells(task)]
    ids = [cell.id if len(tasks) == 1 else f"{task.name}/{cell.id}" for task, cell in pairs]
    metafunc.parametrize("cell", [cell for _, cell in pairs], ids=ids)


def pytest_collection_modifyitems(config: pytest.Config) -> None:
    """Turn a validation error into a one-line usage error, before anything loads."""
    if _ERROR in config.stash:
        raise pytest.UsageError(config.stash[_ERROR])


@pytest.fixture(scope="session")
def langneurons_context(request: pytest.FixtureRequest) -> Any:
    """The loaded model and neuron set, shared by every cell of the run."""
    session = session_for(request.config)
    assert session is not None  # collection fails before this on bad input
    _share_cores_between_workers(request.config)
    context = session.context()
    chosen = context.neuron_set
    request.config.stash[_RUN].update(
        model=context.handle.info.to_dict(),
        neuron_set={
            "sha256": chosen.sha256(),
            "method": chosen.method,
            "source": str(session.neurons_path),
            "neurons": {lang: chosen.count(lang) for lang in chosen.languages},
            "statistics": chosen.statistics,
        },
    )
    return context


def _share_cores_between_workers(config: pytest.Config) -> None:
    """Under xdist, give each worker its share of the cores instead of all of them."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture
def evaluate(
    request: pytest.FixtureRequest, langneurons_context: Any
) -> Callable[[Cell], CellResult]:
    """Evaluate a cell and record its metrics (before the check asserts)."""
    config = request.config
    session = session_for(config)
    assert session is not None

    def run(cell: Cell) -> CellResult:
        task = next(t for t in session.tasks if t.name == cell.task)
        evaluators = config.stash[_RUN].setdefault("evaluators", {})
        if task.name not in evaluators:
            evaluators[task.name] = task_kind(task.kind).evaluator(task, langneurons_context)
        result: CellResult = evaluators[task.name](cell)
        config.stash[_RECORDS].append(
            {
                "task": task.name,
                "id": cell.id,
                "params": dict(cell.params),
                "metrics": result.metrics,
                "passed": result.passed,
                "failures": result.failures,
            }
        )
        return result

    return run


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Ship records to the controller (worker), or write the results file (controller)."""
    config = session.config
    run = config.stash[_RUN]
    payload = {
        "records": config.stash[_RECORDS],
        "model": run.get("model"),
        "neuron_set": run.get("neuron_set"),
        "timings": dict(config.stash[_SESSION].timings.seconds) if _SESSION in config.stash else {},
    }
    if hasattr(config, "workeroutput"):
        config.workeroutput[_OUTPUT_KEY] = json.dumps(payload)
        return
    if not payload["records"]:
        return
    run.update(payload)
    config.stash[_WRITTEN] = _write_results(config, payload)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """Merge a worker's records into the controller's."""
    output = getattr(node, "workeroutput", {}).get(_OUTPUT_KEY)
    if not output:
        return
    payload = json.loads(output)
    config = node.config
    config.stash[_RECORDS].extend(payload["records"])
    run = config.stash[_RUN]
    for key in ("model", "neuron_set"):
        if payload[key] and not run.get(key):
            run[key] = payload[key]
    timings = run.setdefault("worker_timings", {})
    for phase, seconds in payload["timings"].items():
        timings[phase] = timings.get(phase, 0.0) + seconds


def _write_results(config: pytest.Config, payload: dict[str, Any]) -> Path:
    from langneurons.provenance import environment

    session = session_for(config)
    assert session is not None
    run = config.stash[_RUN]
    timings = {**payload["timings"], **run.get("worker_timings", {})}
    timings["wall"] = time.perf_counter() - config.stash[_STARTED]
    tasks = []
    for task in session.tasks:
        records = [r for r in payload["records"] if r["task"] == task.name]
        if not records:
            continue
        summary = task_kind(task.kind).summarize(task, _cell_results(records))
        tasks.append(
            {
                "name": task.name,
                "kind": task.kind,
                "version": task.fields.version,
                "spec_sha256": task.sha256,
                "spec": task.fields.model_dump(mode="json"),
                "cells": [{k: v for k, v in r.items() if k != "task"} for r in records],
                "summary": summary.scores,
            }
        )
    created = results_format.now()
    document = results_format.from_dict(
        {
            "format": results_format.FORMAT,
            "created": created.isoformat(),
            "model": payload["model"],
            "neuron_set": payload["neuron_set"],
            "tasks": tasks,
            "environment": environment(),
            "seeds": {"control": session.options.seed},
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
    )
    method = payload["neuron_set"]["method"]["name"]
    name = f"{session.source.name}_{method}_{created.strftime('%Y%m%dT%H%M%SZ')}.json"
    path = Path(session.options.results_dir) / name
    results_format.dump(document, path)
    return path


def _cell_results(records: list[dict[str, Any]]) -> dict[str, CellResult]:
    return {r["id"]: CellResult(r["metrics"], r["failures"]) for r in records}


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print each task's table, its scores, the phase timings and the results file."""
    records = config.stash[_RECORDS]
    session = config.stash.get(_SESSION, None)
    if not records or session is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("langneurons")
    run = config.stash[_RUN]
    model = run.get("model") or {}
    method = (run.get("neuron_set") or {}).get("method", {})
    write(
        f"model {model.get('name')} ({model.get('revision')}), {model.get('dtype')} on {model.get('device')}; neurons: {method.get('name')}"
    )
    for task in session.tasks:
        mine = [r for r in records if r["task"] == task.name]
        if not mine:
            continue
        summary = task_kind(task.kind).summarize(task, _cell_results(mine))
        write("")
        write(f"{task.name} ({len(mine)} cells, {sum(r['passed'] for r in mine)} passed)")
        write(summary.table)
        write("scores: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.scores.items()))
    timings = {**session.timings.seconds, **run.get("worker_timings", {})}
    timings["wall"] = time.perf_counter() - config.stash[_STARTED]
    write("")
    write("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    if _WRITTEN in config.stash:
        write(f"results: {config.stash[_WRITTEN]}")
