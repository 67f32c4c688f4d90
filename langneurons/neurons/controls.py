"""Random neurons in the same per-layer counts as a given set: every task's control.

If a method's neurons matter for a language, a random set of the same size and
layer distribution should not. Sampling uses a ``torch.Generator`` seeded from
``seed`` and the language code (CRC-32), so each language's draw is reproducible
and independent of which other languages are present. A task draws its control
several times (``draw`` 0, 1, ...), each an independent stream of the same seed,
so a cell's control is a mean over draws, not one lucky or unlucky set.

A vector set's control is the set turned by a random rotation at each of its
layers, so each vector, and each difference of two, keeps its norm and gets a
random direction (:func:`random_directions`); :func:`control_draw` gives either
kind's.
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
    """Control draw ``draw_index`` of a vector set: at each layer, its vectors turned by one random rotation.

    Every vector keeps its norm and gets a uniformly random direction, so an
    ablation projects out a random direction of the same norm; and every
    difference of two vectors keeps its length, so a steering shift
    ``v_T - v_S`` becomes a random direction of that shift's norm (random
    directions drawn per language would give ``|v_T|^2 + |v_S|^2`` instead).
    The rotation is Haar-distributed on the span of the layer's vectors: an
    orthonormal basis of that span is mapped onto a random orthonormal frame
    (the Q of a standard normal matrix's QR, signs fixed by R's diagonal;
    Mezzadri 2007), seeded per draw and layer, which costs hidden x languages^2,
    not hidden^3.
    """
    import torch

    from langneurons.neurons.vector_set import VectorSet

    languages: dict[str, dict[int, tuple[float, ...]]] = {lang: {} for lang in reference.languages}
    for layer in sorted({layer for layers in reference.languages.values() for layer in layers}):
        langs = [lang for lang, layers in reference.languages.items() if layer in layers]
        vectors = torch.tensor(
            [reference.languages[lang][layer] for lang in langs], dtype=torch.float64
        )
        basis, _ = torch.linalg.qr(vectors.T)  # [hidden, K], orthonormal, spans the vectors
        key = f"rotation-{draw_index}/{layer}"
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(key.encode()))
        normal = torch.randn(
            reference.hidden_size, len(langs), generator=generator, dtype=torch.float64
        )
        frame, triangular = torch.linalg.qr(normal)
        frame = frame * torch.sign(torch.diagonal(triangular))
        for lang, turned in zip(langs, vectors @ basis @ frame.T, strict=True):
            languages[lang][layer] = tuple(turned.tolist())
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
