"""How every task kind intervenes with the set under test, a neuron set or a vector set alike.

The one place that tells the two kinds apart, so each task kind takes either:

- ablation: a neuron set zeroes the language's neurons
  (:func:`~langneurons.models.interventions.ablate`); a vector set projects the
  language's vectors out of the residual stream
  (:func:`~langneurons.models.interventions.project_out`);
- steering from S to T: a neuron set sets T's neurons to a value from T's
  statistics and zeroes S's (:func:`~langneurons.models.interventions.steer`); a
  vector set adds ``v_T - v_S`` (``v_T`` where the source is kept) to the
  residual stream at their layers (a method's ``alpha`` is in the vectors)
  (:func:`~langneurons.models.interventions.add_to_residual`), CLaS-Bench's
  target-minus-source DiffMean steering;
- size: neurons of a language, or its directions (one per layer with a vector).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from langneurons.models.interventions import ablate, add_to_residual, project_out, steer
from langneurons.neurons.vector_set import VectorSet
from langneurons.tasks.steering_values import steering_values

if TYPE_CHECKING:
    from langneurons.models.handle import ModelHandle
    from langneurons.neurons.sets import InterventionSet
    from langneurons.neurons.statistics import ActivationStats
    from langneurons.tasks.steering_values import SteeringValue

#: a steering intervention from a start position on
Steerer = Callable[[int], AbstractContextManager[None]]


def ablation(
    handle: ModelHandle, chosen: InterventionSet, language: str, start: int = 0
) -> AbstractContextManager[None]:
    """Remove ``language``'s part of ``chosen`` from the model while the block runs."""
    if isinstance(chosen, VectorSet):
        return project_out(handle.model, chosen.languages[language], handle.architecture, start)
    return ablate(handle.model, chosen.languages[language], handle.architecture, start)


def is_empty(chosen: InterventionSet, language: str) -> bool:
    """Whether ``chosen`` holds nothing for ``language`` (ablating it changes nothing)."""
    return not chosen.languages[language]


def size(chosen: InterventionSet, language: str) -> float:
    """Neurons of ``language`` in a neuron set, directions in a vector set."""
    return float(chosen.count(language))


def lm_eval_condition(chosen: InterventionSet, language: str) -> dict[str, Any]:
    """The keywords of ``InterventionLM.intervening`` that ablate ``language``'s part of ``chosen``."""
    if isinstance(chosen, VectorSet):
        return {"project": chosen.languages[language]}
    return {"zero": chosen.languages[language]}


def steering(
    handle: ModelHandle,
    chosen: InterventionSet,
    source: str,
    target: str,
    statistics: Callable[[], ActivationStats],
    value: SteeringValue,
    deactivate_source: bool,
) -> Steerer:
    """The intervention that steers from ``source`` to ``target``, from a start position on.

    Values a neuron set needs are read from ``statistics`` once, here (``value``
    names them); a vector set needs none.
    """
    if isinstance(chosen, VectorSet):
        shift = _difference(
            chosen.languages[target], chosen.languages[source] if deactivate_source else {}
        )
        return lambda start: add_to_residual(handle.model, shift, handle.architecture, start)
    activate = chosen.languages[target]
    values = steering_values(statistics(), activate, target, value)
    deactivate = chosen.languages[source] if deactivate_source else {}
    return lambda start: steer(
        handle.model, activate, values, deactivate, handle.architecture, start
    )


def _difference(
    add: Mapping[int, Sequence[float]], subtract: Mapping[int, Sequence[float]]
) -> dict[int, list[float]]:
    """Per layer of either, ``add - subtract`` (a layer missing from one counts as 0)."""
    shift = {}
    for layer in sorted(set(add) | set(subtract)):
        plus, minus = add.get(layer), subtract.get(layer)
        width = len(plus if plus is not None else minus or ())
        a = plus if plus is not None else [0.0] * width
        b = minus if minus is not None else [0.0] * width
        shift[layer] = [x - y for x, y in zip(a, b, strict=True)]
    return shift
