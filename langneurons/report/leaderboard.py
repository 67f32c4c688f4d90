"""The leaderboard, built from the filed results files alone.

``build(folder)`` reads ``folder/submissions/*/*.json`` and writes
``folder/README.md`` (a Markdown table) and ``folder/index.html`` (a static page:
sortable table, filters by model and method, a detail view per entry whose plots
are drawn in the page from the data it embeds). Both are pure functions of the
entries, so ``outdated(folder)`` can tell whether the pages match them.

Each task kind declares its headline score (``TaskKind.headline``, higher is
better) and the plots of its detail view (``TaskKind.detail``); nothing here
knows a kind by name. Headline scores come from the summary each task's kind recomputes from the
entry's cells (:func:`langneurons.report.submission.recomputed_summary`), never from the
summary the file claims; a score that is not finite is not ranked.

Overall rank: the mean of an entry's ranks over the tasks (1 = best; an entry
without a task takes the last place for it); ties share the better rank.

Every submitted string (model, method, languages, version, command) is untrusted:
the table prints it through :func:`markdown_text` or :func:`markdown_code`, the
page embeds it through :func:`script_json` and draws it with ``textContent``.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from langneurons.atomic_write import atomic_write_text
from langneurons.errors import ConfigError, FormatError
from langneurons.models.handle import described
from langneurons.report import results as results_format
from langneurons.report.submission import (
    SubmissionError,
    cell_results,
    finite,
    recomputed_summary,
)
from langneurons.tasks.protocol import View, task_kind
from langneurons.tasks.spec import TaskFields, TaskSpec


@dataclass(frozen=True)
class Entry:
    """One filed results file with its headline scores and overall rank."""

    path: str
    results: results_format.Results
    scores: dict[str, float]
    intervals: dict[str, tuple[float, float]]  # each headline's 95 % interval, where it has one
    rank: float
    specs: dict[str, TaskSpec[TaskFields]]  # each task's, validated once


def headline(
    task: results_format.TaskRecord, spec: TaskSpec[TaskFields]
) -> tuple[float | None, tuple[float, float] | None]:
    """The task's headline score (module docstring) and its interval, from the summary its cells give.

    Returns:
        The score, None for a kind without one and for a score that is not
        finite (a NaN compares false with everything, so it would take any
        rank); the interval, None where the cells carry no units or a bound is
        not finite.

    Raises:
        FormatError: the task's spec or cells cannot be summarised.
    """
    summary = summary_of(task, spec)
    chosen = task_kind(task.kind).headline
    bounds = chosen.bounds(summary)
    if bounds is not None and not all(math.isfinite(b) for b in bounds):
        bounds = None
    return finite(chosen.score(summary)), bounds


def summary_of(task: results_format.TaskRecord, spec: TaskSpec[TaskFields]) -> dict[str, float]:
    """The summary the task's kind computes from the record's cells and spec.

    The file's own ``summary`` is a claim that ``leaderboard submit`` checks; the
    pages use this, so an entry filed by hand cannot rank on a claim.

    Raises:
        FormatError: unknown kind, a spec the kind rejects, or cells it cannot summarise.
    """
    try:
        return recomputed_summary(spec, task.cells)
    except SubmissionError as error:
        raise FormatError(f"task {task.name!r}: {error}") from None


def spec_of(task: results_format.TaskRecord) -> TaskSpec[TaskFields]:
    """The task spec a results file records, validated by its kind.

    Raises:
        FormatError: unknown kind, or a spec the kind rejects.
    """
    try:
        fields = task_kind(task.kind).spec_model.model_validate(task.spec)
    except (ConfigError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise FormatError(f"task {task.name!r}: cannot read its spec ({first})") from None
    return TaskSpec(Path(f"{task.name}.yaml"), fields)


def entries(folder: Path) -> list[Entry]:
    """Every filed entry, best overall rank first.

    Raises:
        FormatError: a filed file that does not parse or whose cells cannot be
            summarised; the message names it.
    """
    loaded = []
    for path in sorted((folder / "submissions").glob("*/*.json")):
        parsed = results_format.load(path)
        scores, intervals, specs = {}, {}, {}
        for task in parsed.tasks:
            try:
                specs[task.name] = spec_of(task)
                value, bounds = headline(task, specs[task.name])
            except FormatError as error:
                raise FormatError(f"{path}: {error}; remove the entry or submit it again") from None
            if value is not None:
                scores[task.name] = value
                if bounds is not None:
                    intervals[task.name] = bounds
        loaded.append((path.relative_to(folder).as_posix(), parsed, scores, intervals, specs))
    tasks = sorted({name for _, _, scores, _, _ in loaded for name in scores})
    ranks: dict[int, list[float]] = {i: [] for i in range(len(loaded))}
    for name in tasks:
        values = [scores.get(name) for _, _, scores, _, _ in loaded]
        for i, value in enumerate(values):
            better = sum(v is not None and value is not None and v > value for v in values)
            ranks[i].append(better + 1 if value is not None else len(loaded))
    found = [
        Entry(
            path,
            parsed,
            scores,
            intervals,
            sum(ranks[i]) / len(ranks[i]) if ranks[i] else 0.0,
            specs,
        )
        for i, (path, parsed, scores, intervals, specs) in enumerate(loaded)
    ]
    return sorted(found, key=lambda e: (e.rank, e.results.model["name"], e.path))


def pages(folder: Path) -> dict[str, str]:
    """The leaderboard's generated files: name -> content."""
    found = entries(folder)
    tasks = sorted({name for entry in found for name in entry.scores})
    return {"README.md": markdown(found, tasks), "index.html": page(found, tasks)}


def build(folder: Path) -> list[Path]:
    """Write the generated files into ``folder``; return their paths."""
    written = []
    for name, text in pages(folder).items():
        atomic_write_text(folder / name, text)
        written.append(folder / name)
    return written


def outdated(folder: Path) -> list[str]:
    """Names of generated files that do not match the filed entries."""
    return [
        name
        for name, text in pages(folder).items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]


def _row(entry: Entry, tasks: list[str]) -> dict[str, Any]:
    r = entry.results
    return {
        "rank": round(entry.rank, 2),
        "model": str(r.model.get("name", "?")),  # strings, whatever a hand-filed file holds
        "method": r.neuron_set.method.name,
        "languages": ",".join(r.neuron_set.neurons),
        "scores": {name: entry.scores[name] for name in tasks if name in entry.scores},
        "intervals": {
            name: list(entry.intervals[name]) for name in tasks if name in entry.intervals
        },
        "date": r.created.date().isoformat(),
        "version": str(r.environment.get("langneurons", "?")),
        "command": r.command,
        "file": entry.path,
    }


def markdown(found: list[Entry], tasks: list[str]) -> str:
    """The Markdown table of ``leaderboard/README.md``."""
    header = ["rank", "model", "method", "languages", *tasks, "date", "version", "command"]
    lines = [
        "# langneurons leaderboard",
        "",
        "Generated by `langneurons leaderboard build` from `submissions/`; do not edit.",
        "Open `index.html` for sorting, filters and plots. Scores (higher is better):",
        "",
        *(f"- {markdown_code(name)}: {markdown_text(_describe(found, name))}" for name in tasks),
        "- [lo, hi]: the score's 95 % bootstrap interval (none for entries upgraded from "
        "results files without per-unit values).",
        "- rank: mean of the per-task ranks (1 = best; a missing task counts as last).",
        "",
        "| " + " | ".join(markdown_text(name) for name in header) + " |",
        "|" + "---|" * len(header),
    ]
    for entry in found:
        row = _row(entry, tasks)
        scores = [_score_text(entry, name) for name in tasks]
        texts = [row["model"], row["method"], row["languages"]]
        cells = [f"{row['rank']:.2f}", *(markdown_text(text) for text in texts), *scores]
        cells += [markdown_text(row["date"]), markdown_text(row["version"])]
        cells.append(markdown_code(row["command"]))
        lines.append("| " + " | ".join(cells) + " |")
    if not found:
        lines.append("| " + " | ".join(["-", "no entries yet"] + [""] * (len(header) - 2)) + " |")
    else:
        lines += [
            "",
            "## Models",
            "",
            "Layers x neurons per layer and dtype as the results files record them; parameters,",
            "tuning and weights as `langneurons/models/aliases.yaml` describes the alias.",
            "",
            "| " + " | ".join(MODEL_COLUMNS) + " |",
            "|" + "---|" * len(MODEL_COLUMNS),
            *(
                "| " + " | ".join(markdown_text(row[c]) for c in MODEL_COLUMNS) + " |"
                for row in models(found)
            ),
        ]
    return "\n".join(lines) + "\n"


def _score_text(entry: Entry, name: str) -> str:
    """``score [lo, hi]`` to 3 decimals, ``-`` where the entry has no such score."""
    if name not in entry.scores:
        return "-"
    text = f"{entry.scores[name]:.3f}"
    if name in entry.intervals:
        low, high = entry.intervals[name]
        text += f" \\[{low:.3f}, {high:.3f}\\]"
    return text


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")
# an underscore inside a word cannot start or end emphasis, so ablation_perplexity stays as it is
_MARKDOWN = re.compile(r"[\\`*\[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def markdown_text(text: str) -> str:
    """``text`` as literal text in a Markdown table cell.

    One line (control, line-separator and bidi characters become spaces), and
    every character that could start markup, raw HTML, an entity or a column
    break is backslash-escaped, so a submitted name shows as it is.
    """
    return _MARKDOWN.sub(lambda m: "\\" + m.group(0), _UNPRINTABLE.sub(" ", text))


def markdown_code(text: str) -> str:
    r"""``text`` as a Markdown code span in a table cell (GFM: ``\|`` is a pipe there too)."""
    flat = _UNPRINTABLE.sub(" ", text).replace("|", "\\|")
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def script_json(data: Any) -> str:
    r"""``data`` as JSON that cannot end, or change the parsing of, the ``<script>`` holding it.

    ``<``, ``>`` and ``&`` become ``\u`` escapes (no ``</script>``, no ``<!--``),
    and so do U+2028 and U+2029; NaN and infinities are refused, since
    ``JSON.parse`` rejects them and the page would stay blank.
    """
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        text = text.replace(raw, f"\\u{ord(raw):04x}")
    return text


def _describe(found: list[Entry], name: str) -> str:
    kind = next(t.kind for e in found for t in e.results.tasks if t.name == name)
    return f"{kind} task, {task_kind(kind).headline.label}"


def _detail(entry: Entry) -> dict[str, Any]:
    """The entry's plots: each task's, as its kind declares them, then its neurons per layer."""
    views = []
    for task in entry.results.tasks:
        spec = entry.specs[task.name]
        for view in task_kind(task.kind).detail(spec, cell_results(task.cells)):
            views.append({"task": task.name, **asdict(view), "rows": _finite(view.rows)})
    chosen = entry.results.neuron_set
    layers = [[lang, counts, k, False] for k, (lang, counts) in enumerate(chosen.per_layer.items())]
    what = "directions" if chosen.kind == "vectors" else "neurons"
    views.append(asdict(View("curves", f"{what} per layer, per language", layers)))
    return {"views": views}


def _finite(data: Any) -> Any:
    """``data`` with every non-finite number as None (JSON has no NaN)."""
    if isinstance(data, float):
        return finite(data)
    if isinstance(data, list | tuple):
        return [_finite(x) for x in data]
    return data


def models(found: list[Entry]) -> list[dict[str, str]]:
    """One row of facts per model the entries ran, in the order of first appearance.

    Family, layers x neurons and dtype are what the results files record; the
    parameters, tuning and weights are what ``aliases.yaml`` says of an alias
    (``-`` for a model it does not describe).
    """
    rows: dict[str, dict[str, str]] = {}
    for entry in found:
        model = entry.results.model
        name = str(model.get("name", "?"))
        row = rows.setdefault(
            name,
            {
                "model": name,
                "family": str(model.get("family", "?")),
                "shape": f"{model.get('num_layers', '?')} x {model.get('neurons_per_layer', '?')}",
                "dtype": "",
                "parameters": "-",
                "tuning": "-",
                "weights": "-",
            }
            | described(name, str(model.get("source", ""))),
        )
        dtypes = {*filter(None, row["dtype"].split(", ")), str(model.get("dtype", "?"))}
        row["dtype"] = ", ".join(sorted(dtypes))
    return list(rows.values())


MODEL_COLUMNS = ("model", "family", "parameters", "tuning", "weights", "shape", "dtype")


def page(found: list[Entry], tasks: list[str]) -> str:
    """The static ``index.html``: the data and the script that draws it."""
    data = {
        "tasks": tasks,
        "headlines": {name: _describe(found, name) for name in tasks},
        "models": models(found),
        "rows": [_row(entry, tasks) for entry in found],
        "details": [_detail(entry) for entry in found],
    }
    values = {"DATA": script_json(data), "TITLE": html.escape("langneurons leaderboard")}
    template = (Path(__file__).parent / "leaderboard.html").read_text(encoding="utf-8")
    # one pass: a submitted "{{TITLE}}" inside the data stays text
    return re.sub(r"\{\{(DATA|TITLE)\}\}", lambda m: values[m.group(1)], template)
