"""The end of a benchmark run: one results file per neuron set, its figures, the terminal summary.

Each task is summarised once per neuron set (a
:class:`~langneurons.run.recorder.Finished`); the results file, the figures and
the printed tables all read that summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from langneurons.provenance import environment
from langneurons.report import results as results_format
from langneurons.report import terminal
from langneurons.report.plots import draw
from langneurons.run.recorder import Evaluated, Finished, Recorder
from langneurons.run.session import BenchmarkSession
from langneurons.tasks.protocol import task_kind


def finished(session: BenchmarkSession, records: Sequence[Evaluated]) -> list[Finished]:
    """The tasks of the run (in task order) with the cells these records hold."""
    found = []
    for task in session.tasks:
        mine = [r for r in records if r.task == task.name]
        if mine:
            results = {r.cell.id: r.result for r in mine}
            found.append(
                Finished(task, mine, results, task_kind(task.kind).summarize(task, results))
            )
    return found


def write_all(
    session: BenchmarkSession,
    recorder: Recorder,
    timings: dict[str, float],
    command: str,
    stopped: bool,
) -> None:
    """Write every neuron set's results file (see :func:`write`)."""
    rounded = {phase: round(seconds, 3) for phase, seconds in timings.items()}
    for spec, records in recorder.by_set().items():
        write(session, spec, records, rounded, command, stopped, recorder)


def write(
    session: BenchmarkSession,
    spec: str,
    records: Sequence[Evaluated],
    timings: dict[str, float],
    command: str,
    stopped: bool,
    recorder: Recorder,
) -> None:
    """Write one neuron set's results file and draw its figures (both noted in ``recorder``).

    The file is ``complete`` when the run was not stopped early and every cell it
    collected for the set, in every task, has a record. Under pytest -n the model's
    ``device`` lists every worker's, in the order their cells reported.
    """
    facts = records[0].facts
    devices = dict.fromkeys(r.facts.model["device"] for r in records)
    model = results_format.ModelRecord(**{**facts.model, "device": ", ".join(devices)})
    ran = {name: sum(r.task == name for r in records) for name in facts.planned}
    complete = not stopped and ran == facts.planned
    tasks = finished(session, records)
    recorder.finished[spec] = tasks
    created = results_format.now()
    document = results_format.build(
        created=created,
        model=model,
        neuron_set=facts.neuron_set,
        tasks=[_task_record(f) for f in tasks],
        environment=environment(),
        seeds={"control": session.options.seed},
        timings=timings,
        command=command,
        complete=complete,
    )
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    path = (
        Path(session.options.results_dir) / f"{session.source.name}_{Path(spec).stem}_{stamp}.json"
    )
    results_format.dump(document, path)
    recorder.written.append((path, complete))
    for done in tasks:
        for figure in task_kind(done.task.kind).figures(done.task, done.results):
            drawn = path.with_name(f"{path.stem}.{done.task.name}.{figure.name}.png")
            draw(figure, drawn)
            recorder.figures.append(drawn)


def _task_record(done: Finished) -> results_format.TaskRecord:
    cells = [
        results_format.cell_record(
            r.cell.id,
            r.cell.params,
            r.result.metrics,
            r.result.failures,
            r.result.curves,
            r.result.info,
            r.result.units,
        )
        for r in done.records
    ]
    fields = done.task.fields
    spec = fields.model_dump(mode="json")
    return results_format.task_record(
        fields.name, fields.kind, fields.version, spec, cells, done.summary.scores
    )


def summary_lines(
    session: BenchmarkSession, recorder: Recorder, timings: dict[str, float]
) -> list[str]:
    """The terminal summary: each task's table per neuron set, the sets side by side, timings, files."""
    first = next(iter(recorder.records.values()))
    lines = [terminal.model_line(first.facts.model)]
    scores: dict[str, dict[str, float]] = {}
    for spec in session.specs:
        for done in recorder.finished.get(spec, []):
            passed = sum(r.result.passed for r in done.records)
            lines += terminal.task_section(
                done.task.name, spec, len(done.records), passed, done.summary
            )
            scores.setdefault(spec, {}).update(
                {f"{done.task.name}.{k}": v for k, v in done.summary.scores.items()}
            )
    if len(scores) > 1:
        lines += terminal.side_by_side(scores)
    lines += ["", terminal.timing_line(timings, bool(recorder.worker_timings))]
    return lines + terminal.file_lines(recorder.written, recorder.figures)
