"""The leaderboard, built from the filed results files alone.

``build(folder)`` reads ``folder/submissions/*/*.json`` and writes
``folder/README.md`` (a Markdown table) and ``folder/index.html`` (a static page:
sortable table, filters by model and method, a detail view per entry whose plots
are drawn in the page from the data it embeds). Both are pure functions of the
entries, so ``outdated(folder)`` can tell whether the pages match them.

Headline score per task kind (higher is better):

- ``ablation``: specificity, the mean over languages of the log own-language PPL
  ratio minus the mean log ratio on the other languages;
- ``steering``: the mean success rate (judged target language and fluent);
- ``latent``: the mean drop in final target probability when the target's neurons
  are ablated, minus the random control's mean drop;
- ``downstream``: the mean over languages of the own-language accuracy drop minus
  the mean drop on the other languages.

Overall rank: the mean of an entry's ranks over the tasks (1 = best; an entry
without a task takes the last place for it); ties share the better rank.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langneurons import results as results_format
from langneurons.atomic_write import atomic_write_text

HEADLINES = {
    "ablation": "specificity",
    "steering": "fluent success",
    "latent": "latent drop",
    "downstream": "accuracy-drop specificity",
}


@dataclass(frozen=True)
class Entry:
    """One filed results file with its headline scores and overall rank."""

    path: str
    results: results_format.Results
    scores: dict[str, float]
    rank: float


def headline(task: results_format.TaskRecord) -> float | None:
    """The task's headline score (module docstring), or None for a kind without one."""
    summary = task.summary
    if task.kind in ("ablation", "downstream"):
        return summary.get("specificity")
    if task.kind == "steering":
        return summary.get("mean_success")
    if task.kind == "latent" and {"mean_target_drop", "mean_control_drop"} <= set(summary):
        return summary["mean_target_drop"] - summary["mean_control_drop"]
    return None


def entries(folder: Path) -> list[Entry]:
    """Every filed entry, best overall rank first."""
    loaded = []
    for path in sorted((folder / "submissions").glob("*/*.json")):
        parsed = results_format.load(path)
        scores = {}
        for task in parsed.tasks:
            value = headline(task)
            if value is not None:
                scores[task.name] = value
        loaded.append((path.relative_to(folder).as_posix(), parsed, scores))
    tasks = sorted({name for _, _, scores in loaded for name in scores})
    ranks: dict[int, list[float]] = {i: [] for i in range(len(loaded))}
    for name in tasks:
        values = [scores.get(name) for _, _, scores in loaded]
        for i, value in enumerate(values):
            better = sum(v is not None and value is not None and v > value for v in values)
            ranks[i].append(better + 1 if value is not None else len(loaded))
    found = [
        Entry(path, parsed, scores, sum(ranks[i]) / len(ranks[i]) if ranks[i] else 0.0)
        for i, (path, parsed, scores) in enumerate(loaded)
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
        "model": r.model["name"],
        "method": r.neuron_set.method.get("name", "?"),
        "languages": ",".join(r.neuron_set.neurons),
        "scores": {name: entry.scores[name] for name in tasks if name in entry.scores},
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
        *(f"- `{name}`: {_describe(found, name)}" for name in tasks),
        "- rank: mean of the per-task ranks (1 = best; a missing task counts as last).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for entry in found:
        row = _row(entry, tasks)
        scores = [f"{row['scores'][name]:.3f}" if name in row["scores"] else "-" for name in tasks]
        cells = [f"{row['rank']:.2f}", row["model"], row["method"], row["languages"], *scores]
        cells += [row["date"], row["version"], f"`{row['command']}`"]
        lines.append("| " + " | ".join(cells) + " |")
    if not found:
        lines.append("| " + " | ".join(["-", "no entries yet"] + [""] * (len(header) - 2)) + " |")
    return "\n".join(lines) + "\n"


def _kind_of(found: list[Entry], name: str) -> str:
    for entry in found:
        for task in entry.results.tasks:
            if task.name == name:
                return task.kind
    return "?"


def _describe(found: list[Entry], name: str) -> str:
    kind = _kind_of(found, name)
    return f"{kind} task, {HEADLINES.get(kind, '?')}"


def _detail(entry: Entry) -> dict[str, Any]:
    r = entry.results
    detail: dict[str, Any] = {"layers": r.neuron_set.per_layer}
    for task in r.tasks:
        if task.kind == "ablation":
            detail["heatmap"] = [
                [c.params["ablate"], c.params["eval"], c.metrics["ratio"]] for c in task.cells
            ]
        elif task.kind == "downstream":
            detail["downstream"] = [
                [c.params["ablate"], c.params["eval"], c.metrics["drop"]] for c in task.cells
            ]
        elif task.kind == "steering":
            detail["steering"] = [
                [c.id, c.metrics["success"], c.metrics["baseline"], c.metrics["control"]]
                for c in task.cells
            ]
        elif task.kind == "latent":
            detail["latent"] = [
                [c.id, c.curves.get("p_target", []), c.curves.get("p_latent", [])]
                for c in task.cells
                if c.id.startswith("translation[")
            ]
    return detail


def page(found: list[Entry], tasks: list[str]) -> str:
    """The static ``index.html``: the data and the script that draws it."""
    data = {
        "tasks": tasks,
        "headlines": {name: _describe(found, name) for name in tasks},
        "rows": [_row(entry, tasks) for entry in found],
        "details": [_detail(entry) for entry in found],
    }
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
    template = (Path(__file__).parent / "data" / "leaderboard.html").read_text(encoding="utf-8")
    return template.replace("{{DATA}}", payload).replace(
        "{{TITLE}}", html.escape("langneurons leaderboard")
    )
