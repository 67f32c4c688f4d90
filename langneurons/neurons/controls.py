"""Random neurons in the same per-layer counts as a given set: every task's control.

If a method's neurons matter for a language, a random set of the same size and
layer distribution should not. Sampling uses a ``torch.Generator`` seeded from
``seed`` and the language code (CRC-32), so each language's draw is reproducible
and independent of which other languages are present. A task draws its control
several times (``draw`` 0, 1, ...), each an independent stream of the same seed,
so a cell's control is a mean over draws, not one lucky or unlucky set.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from langneurons.neurons.identification import Selection

if TYPE_CHECKING:
    from langneurons.neurons.neuron_set import NeuronSet


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


def matched_random(reference: NeuronSet, seed: int, draw_index: int = 0) -> NeuronSet:
    """Return control draw ``draw_index`` of ``reference``: its per-layer counts, random neurons.

    Draw 0 is the stream every earlier version drew, so its neurons never changed.
    """
    from langneurons.neurons.neuron_set import from_lists
    from langneurons.records import MethodRecord

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
        method=MethodRecord(
            name="random",
            params={
                "seed": seed,
                "draw": draw_index,
                "matched_to": reference.method.model_dump(),
                "of": reference.sha256(),
            },
        ),
        statistics=reference.statistics,
    )
