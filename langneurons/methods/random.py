"""Random control: per language, random neurons in the same per-layer counts as a given set.

The control of every ablation and steering task: if a method's neurons matter
for a language, a random set of the same size and layer distribution should
not. Sampling uses a ``torch.Generator`` seeded from ``seed`` and the language
code (CRC-32), so each language's draw is reproducible and independent of which
other languages are present.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langneurons.neuron_set import NeuronSet


def matched_random(reference: NeuronSet, seed: int) -> NeuronSet:
    """Return a set with, per language and layer, as many random neurons as ``reference``."""
    import torch

    from langneurons.neuron_set import from_lists

    width = reference.neurons_per_layer
    per_language: dict[str, list[list[int]]] = {}
    for lang in reference.languages:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(lang.encode()))
        per_language[lang] = [
            torch.randperm(width, generator=generator)[:count].tolist()
            for count in reference.counts_per_layer(lang)
        ]
    return from_lists(
        per_language,
        model=reference.model,
        site=reference.site,
        method={
            "name": "random",
            "params": {"seed": seed, "matched_to": reference.method, "of": reference.sha256()},
        },
        statistics=reference.statistics,
    )
