"""The pytest plugin: options, cell parametrization, recording, the results files.

Loaded by the root ``conftest.py`` (not an entry point, so other projects in the
same environment are unaffected). The check in ``benchmark/`` takes the ``cell``
and ``evaluate`` fixtures; the plugin parametrizes it over every (neuron set,
task, cell). Bad options or task files end the run with one ``ERROR:`` line
before any model loads. Results assembly, rendering and the run's state live in
:mod:`langneurons.run.finish` and :mod:`langneurons.run.recorder`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from langneurons.errors import LangneuronsError
from langneurons.models.handle import DEVICES, DTYPES
from langneurons.run import finish
from langneurons.run.placement import describe, worker_gpus, worker_index
from langneurons.run.recorder import WIRE_KEY, Evaluated, PlannedCell, Recorder, SetFacts, plan
from langneurons.run.session import BenchmarkSession, RunOptions, check_output_folder, options_from
from langneurons.tasks.protocol import CellResult, fail_non_finite

_SESSION = pytest.StashKey[BenchmarkSession]()
_ERROR = pytest.StashKey[str]()
_RECORDER = pytest.StashKey[Recorder]()
_PLACEMENT = pytest.StashKey[str]()

#: the options: a field of RunOptions (whose default they take) -> what it is
_HELP = {
    "model": "alias, Hugging Face id or local folder",
    "revision": "hub branch, tag or commit of a Hugging Face id",
    "neurons": "comma-separated methods or neuron set files (.json or with a /)",
    "tasks": "comma-separated task names or files (default: every tasks/*.yaml)",
    "langs": "comma-separated languages to keep from each task",
    "results_dir": "where the results files go",
    "device": "cpu, cuda or auto",
    "dtype": "model dtype; auto is bfloat16 on CUDA and on CPUs with native bf16, else float32",
    "batch_size": "windows per forward pass",
    "seed": "seed of random controls",
    "trust_task_code": "let task files run code they name (lm-eval's !function)",
    "identify_data": "corpus methods identify on, source or source:path",
    "identify_tokens": "text tokens per language methods identify on (default: the source's, "
    "30000 for the Debian sources, all the text of others)",
    "identify_window": "text tokens per model input of the statistics pass",
    "share_gpus": "under pytest -n, let workers share a GPU when they outnumber the GPUs",
}
_CHOICES = {"device": DEVICES, "dtype": DTYPES}
#: options without a default whose values are integers
_INTEGERS = {"identify_tokens"}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the benchmark options (help: what it is, then the default)."""
    group = parser.getgroup("langneurons", "langneurons benchmark")
    defaults = {f.name: f.default for f in fields(RunOptions)}
    for name, text in _HELP.items():
        flag, default = "--" + name.replace("_", "-"), defaults[name]
        if isinstance(default, bool):
            group.addoption(flag, action="store_true", help=f"{text}; off by default")
        elif default in (None, ()):
            group.addoption(flag, default=None, type=int if name in _INTEGERS else str, help=text)
        else:
            kind = int if isinstance(default, int) else str
            given = default if kind is int else str(default)
            help_text = f"{text} (default: {default})"
            group.addoption(
                flag, default=given, type=kind, choices=_CHOICES.get(name), help=help_text
            )


def pytest_configure(config: pytest.Config) -> None:
    """Prepare the run's state; the controller collects the cells' records."""
    config.stash[_RECORDER] = Recorder()
    if not hasattr(config, "workerinput"):  # a worker's reports go to the controller
        config.pluginmanager.register(config.stash[_RECORDER], "langneurons-recorder")
        workers = getattr(config.option, "numprocesses", None)  # pytest-xdist's -n, resolved
        if isinstance(workers, int) and workers > 1:
            try:
                groups = worker_gpus(
                    workers, config.getoption("device"), config.getoption("share_gpus")
                )
            except LangneuronsError as error:
                raise pytest.UsageError(str(error)) from None
            config.stash[_PLACEMENT] = (
                describe(groups) if groups else f"{workers} workers share the CPU cores"
            )


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say which GPUs each xdist worker uses (or that they share the cores)."""
    placement = config.stash.get(_PLACEMENT, None)
    return f"langneurons workers: {placement}" if placement else None


def session_for(config: pytest.Config) -> BenchmarkSession | None:
    """The run's session, created (and validated, results folder included) on first use."""
    if _SESSION not in config.stash and _ERROR not in config.stash:
        try:
            values = {name: config.getoption(name) for name in _HELP}
            options = options_from(values, Path(str(config.rootpath)) / "tasks")
            check_output_folder(options.results_dir, "--results-dir")
            config.stash[_SESSION] = BenchmarkSession(options)
        except LangneuronsError as error:
            config.stash[_ERROR] = str(error)
    return config.stash.get(_SESSION, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``cell`` over (neuron set, task, cell); ids are ``[set/]task/cell``."""
    if "cell" in metafunc.fixturenames:
        session = session_for(metafunc.config)
        planned = plan(session.specs, session.tasks) if session else []
        several = session is not None and len(session.specs) > 1
        metafunc.parametrize("cell", planned, ids=[p.test_id(several) for p in planned])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the cells each set and task will run, after deselection (every process collects)."""
    calls = [getattr(item, "callspec", None) for item in session.items]
    cells = [call.params.get("cell") for call in calls if call is not None]
    session.config.stash[_RECORDER].count_planned(c for c in cells if isinstance(c, PlannedCell))


def pytest_collection_modifyitems(config: pytest.Config) -> None:
    """Turn a validation error into a one-line usage error, before anything loads."""
    if _ERROR in config.stash:
        raise pytest.UsageError(config.stash[_ERROR])


@pytest.fixture(scope="session")
def langneurons_session(request: pytest.FixtureRequest) -> BenchmarkSession:
    """The run's session (validated at collection); under xdist, placed on the worker's GPUs or cores."""
    session = session_for(request.config)
    assert session is not None  # collection fails before this on bad input
    worker = getattr(request.config, "workerinput", {"workerid": "gw0", "workercount": 1})
    session.place(worker_index(worker["workerid"]), int(worker["workercount"]))
    return session


@pytest.fixture
def evaluate(
    request: pytest.FixtureRequest, langneurons_session: BenchmarkSession
) -> Callable[[PlannedCell], CellResult]:
    """Evaluate a planned cell and record it on its report (before the check asserts).

    pytest (and xdist, from a worker) hands the report to the controller as soon
    as the cell ends, so an interrupted run keeps every cell that finished.
    """
    session = langneurons_session

    def evaluate_cell(planned: PlannedCell) -> CellResult:
        task = next(t for t in session.tasks if t.name == planned.task)
        result = fail_non_finite(session.evaluator(planned.neurons, task)(planned.cell))
        facts = SetFacts(
            *session.records(planned.neurons),
            request.config.stash[_RECORDER].planned.get(planned.neurons, {}),
        )
        record = Evaluated(planned.neurons, task.name, planned.cell, result, facts)
        request.node.user_properties.append((WIRE_KEY, record.to_wire()))
        return result

    return evaluate_cell


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Ship timings to the controller (worker), or write the results files (controller)."""
    config = session.config
    own = config.stash[_SESSION].timings.seconds if _SESSION in config.stash else {}
    if hasattr(config, "workeroutput"):
        config.workeroutput[WIRE_KEY] = json.dumps({"timings": dict(own)})
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    stopped = interrupted or bool(session.shouldstop or session.shouldfail)
    recorder = config.stash[_RECORDER]
    run = session_for(config)  # under xdist the controller makes it here: workers collected
    if recorder.records and run is not None:
        command = shlex.join(["pytest", *config.invocation_params.args])
        finish.write_all(run, recorder, recorder.timings(own), command, stopped)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Add a worker's phase timings to the controller's."""
    output = getattr(node, "workeroutput", {}).get(WIRE_KEY)
    if output:
        node.config.stash[_RECORDER].add_worker_timings(json.loads(output)["timings"])


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print each task's table per neuron set, a comparison of sets, timings and files."""
    recorder, session = config.stash[_RECORDER], config.stash.get(_SESSION, None)
    if recorder.records and session is not None:
        terminalreporter.section("langneurons")
        for line in finish.summary_lines(
            session, recorder, recorder.timings(session.timings.seconds)
        ):
            terminalreporter.write_line(line)
