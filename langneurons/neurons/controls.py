"""Random neurons in the same per-layer counts as a given set: every task's control.

If a method's neurons matter for a language, a random set of the same size and
layer distribution should not. Sampling uses a ``torch.Generator`` seeded from
``seed`` and the language code (CRC-32), so each language's draw is reproducible
and independent of which other languages are present. A task draws its control
several times (``draw`` 0, 1, ...), each an independent stream of the same seed,
so a cell's control is a mean over draws, not one lucky or unlucky set.

A vector set's control is a random direction of the same norm at each of its
layers (:func:`random_directions`); :func:`control_draw` gives either kind's.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from langneurons.neurons.identification import Selection

if TYPE_CHECKING:
    from langneurons.neurons.neuron_set import NeuronSet
    from langneurons.neurons.sets import InterventionSet
    from langneurons.neurons.vector_set import VectorSet
    from langneurons.records import MethodRecord


def draw(counts: Mapping[str, Sequence[int]], width: int, seed: int, stream: str = "") -> Selection:
    """Per language, ``counts[lang][layer]`` distinct random neurons of each layer.

    ``stream`` separates independent draws with the same seed: the control uses
    the default stream, the ``random`` method its own, so a random set and its
    control are never the same neurons.
    """
    import torch

    selection: Selection = {}
    for lang, per_layer in counts.items():
        key = lang if not stream else f"{stream}/{lang}"
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        layers = {}
        for layer, count in enumerate(per_layer):
            neurons = torch.randperm(width, generator=generator)[:count].tolist()
            if neurons:
                layers[layer] = tuple(sorted(neurons))
        selection[lang] = layers
    return selection


def control_draw(reference: InterventionSet, seed: int, draw_index: int = 0) -> InterventionSet:
    """Control draw ``draw_index`` of either kind of set: matched neurons, or random directions."""
    from langneurons.neurons.vector_set import VectorSet

    if isinstance(reference, VectorSet):
        return random_directions(reference, seed, draw_index)
    return matched_random(reference, seed, draw_index)


def random_directions(reference: VectorSet, seed: int, draw_index: int = 0) -> VectorSet:
    """Control draw ``draw_index`` of a vector set: per language and layer, a random direction of the same norm.

    Isotropic (a normalised standard normal), seeded per language and draw as
    :func:`draw` is.
    """
    import torch

    from langneurons.neurons.vector_set import VectorSet

    languages = {}
    for lang, layers in reference.languages.items():
        key = f"directions-{draw_index}/{lang}"
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        norms = reference.norms(lang)
        drawn = {}
        for layer in sorted(layers):
            direction = torch.randn(reference.hidden_size, generator=generator, dtype=torch.float64)
            drawn[layer] = tuple((direction * norms[layer] / direction.norm()).tolist())
        languages[lang] = drawn
    return VectorSet(
        model=reference.model,
        site=reference.site,
        hidden_size=reference.hidden_size,
        method=_control_method(reference, seed, draw_index),
        statistics=reference.statistics,
        languages=languages,
    )


def matched_random(reference: NeuronSet, seed: int, draw_index: int = 0) -> NeuronSet:
    """Return control draw ``draw_index`` of ``reference``: its per-layer counts, random neurons.

    Draw 0 is the stream every earlier version drew, so its neurons never changed.
    """
    from langneurons.neurons.neuron_set import from_lists

    counts = {lang: reference.counts_per_layer(lang) for lang in reference.languages}
    stream = f"control-{draw_index}" if draw_index else ""
    selection = draw(counts, reference.neurons_per_layer, seed, stream)
    return from_lists(
        {
            lang: [list(selection[lang].get(i, ())) for i in range(reference.num_layers)]
            for lang in selection
        },
        model=reference.model,
        site=reference.site,
        method=_control_method(reference, seed, draw_index),
        statistics=reference.statistics,
    )


def _control_method(reference: InterventionSet, seed: int, draw_index: int) -> MethodRecord:
    """What a control draw records as its method: the draw, and the set it is matched to."""
    from langneurons.records import MethodRecord

    return MethodRecord(
        name="random",
        params={
            "seed": seed,
            "draw": draw_index,
            "matched_to": reference.method.model_dump(),
            "of": reference.sha256(),
        },
    )
