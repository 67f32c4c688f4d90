"""The authors' published data, read as the conformance tests and timing scripts use it.

``$LANGNEURONS_REFERENCE_DIR/lna-2025-mistral-7b-mgsm`` holds the activation counts
and the mask published with Zhang et al. 2025 (a Mistral-7B checkpoint, MGSM
prompts with model answers in ten languages).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons.paths import reference_dir

if TYPE_CHECKING:
    from langneurons.neurons.neuron_set import Languages
    from langneurons.neurons.statistics import ActivationStats

MGSM_LANGUAGES = ["en", "ru", "es", "fr", "de", "zh", "ja", "bn", "th", "sw"]
MGSM_TAG = "Mistral-de76d14562b1da1ba0e52d5b245cf9c0859e2af3"
MGSM_MODEL: dict[str, Any] = {
    "name": "mistral-7b-mgsm",
    "source": None,
    "revision": None,
    "architecture": "MistralForCausalLM",
    "num_layers": 32,
    "neurons_per_layer": 14336,
}


def mgsm_folder(root: Path | None = None) -> Path:
    """Return the folder of the Zhang et al. 2025 data."""
    return (root or reference_dir()) / "lna-2025-mistral-7b-mgsm"


def mgsm_statistics(root: Path | None = None, prefixes: bool = True) -> ActivationStats:
    """The published counts; with ``prefixes``, also the prompt-only counts."""
    from langneurons.neurons.statistics import import_counts

    folder = mgsm_folder(root) / "activations"
    prefix = str(folder / f"prefix.activation.{{lang}}.{MGSM_TAG}.pt") if prefixes else None
    return import_counts(
        str(folder / f"activation.{{lang}}.{MGSM_TAG}.pt"),
        prefix,
        MGSM_LANGUAGES,
        MGSM_MODEL,
        "model.layers.{i}.mlp.act_fn",
    )


def mgsm_mask(root: Path | None = None) -> Languages:
    """The published mask: language -> layer -> neuron indices (empty layers left out)."""
    import torch

    mask = torch.load(mgsm_folder(root) / "masks" / f"mask.{MGSM_TAG}", weights_only=True)
    return {
        lang: {i: tuple(t.tolist()) for i, t in enumerate(layers) if len(t)}
        for lang, layers in zip(MGSM_LANGUAGES, mask, strict=True)
    }
