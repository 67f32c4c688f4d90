"""What a task kind gets to evaluate cells: the model, the set under test, settings, timers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langneurons.models.handle import ModelHandle
    from langneurons.neurons.sets import InterventionSet
    from langneurons.neurons.statistics import ActivationStats


@dataclass
class Timings:
    """Wall time per named phase, accumulated across calls."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the block's wall time to phase ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed


@dataclass
class RunContext:
    """The loaded model and neuron set with the run's settings.

    Attributes:
        handle: the loaded model.
        neuron_set: the set under test (a neuron set or a vector set).
        batch_size: windows (or prompts) per forward pass.
        seed: seed of every random control.
        timings: where kinds record their phases.
        progress: show progress bars.
        statistics: the run's activation statistics on the identification corpus
            (collected or read from the cache on first call).
        trust_task_code: the person running opted in to code that task files name
            (lm-eval's ``!function``).
        shared: results that do not depend on the neuron set (e.g. perplexities of
            the unmodified model), shared by every set of the run.
    """

    handle: ModelHandle
    neuron_set: InterventionSet
    batch_size: int
    seed: int
    timings: Timings
    statistics: Callable[[], ActivationStats]
    progress: bool = True
    shared: dict[Any, Any] = field(default_factory=dict)
    trust_task_code: bool = False
