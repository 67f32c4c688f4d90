"""The sets a benchmark run tests: neuron sets and vector sets, read and written by their format.

``--neurons`` takes either kind of file (or a method that makes either); the
``format`` key of the JSON says which, so a file is parsed by its own reader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from langneurons.errors import FormatError, ShapeMismatchError
from langneurons.input_files import load_json
from langneurons.neurons import neuron_set, vector_set
from langneurons.neurons.neuron_set import NeuronSet
from langneurons.neurons.vector_set import VectorSet

#: what a task intervenes with
InterventionSet = Union[NeuronSet, VectorSet]  # noqa: UP007 (a runtime alias)


def load(path: Path) -> InterventionSet:
    """Read a neuron-set or vector-set file, by its ``format``.

    Raises:
        FormatError: not JSON, neither format, or invalid for its format.
    """
    data = load_json(path, "neuron set")
    if isinstance(data, dict) and data.get("format") == vector_set.FORMAT:
        return vector_set.from_dict(data, str(path))
    if isinstance(data, dict) and data.get("format") not in (neuron_set.FORMAT, None):
        raise FormatError(
            f"{path} has format {data.get('format')!r}; --neurons reads {neuron_set.FORMAT} "
            f"and {vector_set.FORMAT}"
        )
    return neuron_set.from_dict(data, str(path))


def dump(chosen: InterventionSet, path: Path) -> None:
    """Write ``chosen`` to ``path`` in its own format, atomically."""
    if isinstance(chosen, VectorSet):
        vector_set.dump(chosen, path)
    else:
        neuron_set.dump(chosen, path)


def check_compatible(
    chosen: InterventionSet,
    shape: tuple[int, int],
    where: str,
    model: str,
    hidden: int | None = None,
) -> None:
    """Raise unless ``chosen`` was made for a model of ``shape`` (layers, neurons per layer).

    A vector set records the shape of its model too, and its vectors must be as
    wide as the model's residual stream (``hidden``, when the config names it;
    the hooks check it again when they attach).

    Raises:
        ShapeMismatchError: the shapes differ; both are named.
    """
    if isinstance(chosen, NeuronSet):
        neuron_set.check_compatible(chosen, shape, where, model)
        return
    ours = (chosen.model.num_layers, chosen.model.neurons_per_layer)
    if ours != shape:
        raise ShapeMismatchError(
            f"vector set {where} was made for {chosen.model.name} ({ours[0]} x {ours[1]}); "
            f"model {model} is {shape[0]} x {shape[1]}"
        )
    if hidden is not None and chosen.hidden_size != hidden:
        raise ShapeMismatchError(
            f"vector set {where} has vectors of {chosen.hidden_size} numbers; the residual "
            f"stream of model {model} is {hidden} wide"
        )
