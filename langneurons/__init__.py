"""langneurons: a benchmark suite for language neurons in causal language models.

Importing the package loads no model, reads no file and imports no torch; the
names below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ActivationStats",
    "BenchmarkSession",
    "NeuronSet",
    "RunOptions",
    "ablate",
    "identify",
    "load_model",
    "load_task",
    "resolve_model",
]

_WHERE = {
    "ActivationStats": "langneurons.neurons.statistics",
    "BenchmarkSession": "langneurons.run.session",
    "NeuronSet": "langneurons.neurons.neuron_set",
    "RunOptions": "langneurons.run.session",
    "ablate": "langneurons.models.interventions",
    "identify": "langneurons.neurons.identification",
    "load_model": "langneurons.models.handle",
    "load_task": "langneurons.tasks.spec",
    "resolve_model": "langneurons.models.handle",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'langneurons' has no attribute '{name}'")
    return getattr(importlib.import_module(_WHERE[name]), name)
