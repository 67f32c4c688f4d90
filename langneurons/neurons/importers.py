"""Importers of published files: activation counts in the authors' format, and the published sets.

``import_counts`` reads counts saved as ``torch.save({"total_tokens",
"over_zero"})`` per language (Zhang et al. 2025; ``langneurons import-stats``).

``$LANGNEURONS_REFERENCE_DIR/lna-2025-mistral-7b-mgsm`` holds the activation counts
and the mask published with Zhang et al. 2025 (a Mistral-7B checkpoint, MGSM
prompts with model answers in ten languages).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons.errors import ConfigError, FormatError, ShapeMismatchError
from langneurons.input_files import template_fields
from langneurons.models.architecture import architecture_named
from langneurons.neurons.neuron_set import NeuronSet, from_lists
from langneurons.neurons.statistics import ActivationStats, check
from langneurons.paths import reference_dir
from langneurons.records import MethodRecord, ModelIdentity
from langneurons.text.languages import check_languages

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.neuron_set import Languages

MGSM_LANGUAGES = ["en", "ru", "es", "fr", "de", "zh", "ja", "bn", "th", "sw"]
MGSM_TAG = "Mistral-de76d14562b1da1ba0e52d5b245cf9c0859e2af3"
MGSM_ARCHITECTURE = "MistralForCausalLM"
MGSM_MODEL = ModelIdentity(
    name="mistral-7b-mgsm",
    architecture=MGSM_ARCHITECTURE,
    num_layers=32,
    neurons_per_layer=14336,
)


def mgsm_folder(root: Path | None = None) -> Path:
    """Return the folder of the Zhang et al. 2025 data."""
    return (root or reference_dir()) / "lna-2025-mistral-7b-mgsm"


def mgsm_statistics(root: Path | None = None, prefixes: bool = True) -> ActivationStats:
    """The published counts; with ``prefixes``, also the prompt-only counts."""
    folder = mgsm_folder(root) / "activations"
    prefix = str(folder / f"prefix.activation.{{lang}}.{MGSM_TAG}.pt") if prefixes else None
    return import_counts(
        str(folder / f"activation.{{lang}}.{MGSM_TAG}.pt"),
        prefix,
        MGSM_LANGUAGES,
        MGSM_MODEL,
        architecture_named(MGSM_ARCHITECTURE).site,
    )


def mgsm_mask(root: Path | None = None) -> Languages:
    """The published mask: language -> layer -> neuron indices (empty layers left out)."""
    import torch

    mask = torch.load(mgsm_folder(root) / "masks" / f"mask.{MGSM_TAG}", weights_only=True)
    return {
        lang: {i: tuple(t.tolist()) for i, t in enumerate(layers) if len(t)}
        for lang, layers in zip(MGSM_LANGUAGES, mask, strict=True)
    }


def import_counts(
    full: str,
    prefix: str | None,
    languages: Sequence[str],
    model: ModelIdentity,
    site: str,
) -> ActivationStats:
    """Read statistics published as ``torch.save({"total_tokens", "over_zero"})`` per language.

    This is the format of Zhang et al. 2025 (``activation.{lang}.<model>.pt`` and,
    for prompt-only counts, ``prefix.activation.{lang}.<model>.pt``).

    Args:
        full: path template with ``{lang}``, counts over prompt + response.
        prefix: path template with ``{lang}`` for prompt-only counts, or None.
        languages: language codes, in the order to stack them.
        model: the model record (name, shape, ...).
        site: the activation site the counts were taken at.

    Raises:
        ConfigError: a template has a field other than ``{lang}``, or none while
            there are several languages (every language would read one file).
        FormatError: a file is missing, not a ``torch.save`` file, has other keys,
            another shape, non-integer counts, or counts above its ``total_tokens``.
    """
    import torch

    shape = (model.num_layers, model.neurons_per_layer)
    check_template(full, languages, "full counts path")
    if prefix is not None:
        check_template(prefix, languages, "prefix counts path")

    def read(template: str) -> tuple[torch.Tensor, torch.Tensor]:
        tokens, counts = [], []
        for lang in languages:
            path = Path(template.format(lang=lang))
            total, over_zero = _published_counts(path, shape)
            tokens.append(total)
            counts.append(over_zero)
        return torch.tensor(tokens, dtype=torch.int64), torch.stack(counts)

    tokens, over_zero = read(full)
    prefix_tokens, prefix_over_zero = read(prefix) if prefix else (None, None)
    provenance = {
        "model": model.model_dump(),
        "site": site,
        "corpus": f"imported:{Path(full).name}",
        "corpus_sha256": None,
    }
    stats = ActivationStats(
        tuple(languages), tokens, over_zero, None, None, provenance, prefix_tokens, prefix_over_zero
    )
    check(stats, f"statistics imported from {full}")
    return stats


def check_template(template: str, languages: Sequence[str], what: str) -> None:
    """Raise unless ``template`` has ``{lang}`` (with several languages) and no other field.

    Raises:
        ConfigError: an unknown field (the allowed one is named), or no ``{lang}``
            while ``languages`` has more than one code.
    """
    fields = template_fields(template, ["lang"], what)
    if "lang" not in fields and len(set(languages)) > 1:
        raise ConfigError(
            f"{what} '{template}' has no {{lang}}: all {len(languages)} languages would read "
            "that one file; put {lang} where the language code goes "
            "(activation.{lang}.Mistral.pt)"
        )


def _published_counts(path: Path, shape: tuple[int, int]) -> tuple[int, torch.Tensor]:
    """``(total_tokens, over_zero)`` of one published file, checked."""
    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FormatError(f"{path} does not exist") from None
    except Exception as error:  # truncated, foreign or not a torch.save file at all
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise FormatError(
            f"{path}: not a torch.save file of {{'total_tokens', 'over_zero'}} "
            f"({type(error).__name__}: {first})"
        ) from None
    if not isinstance(data, dict) or set(data) != {"total_tokens", "over_zero"}:
        raise FormatError(f"{path}: expected {{'total_tokens', 'over_zero'}}")
    total, over_zero = data["total_tokens"], data["over_zero"]
    if isinstance(total, torch.Tensor) and total.dim() == 0 and not total.dtype.is_floating_point:
        total = total.item()
    if type(total) is not int or total < 0:
        raise FormatError(f"{path}: total_tokens must be a non-negative integer, got {total!r}")
    if not isinstance(over_zero, torch.Tensor) or tuple(over_zero.shape) != shape:
        found = tuple(over_zero.shape) if isinstance(over_zero, torch.Tensor) else over_zero
        raise FormatError(f"{path}: over_zero is {found!r}, the model is {shape}")
    if over_zero.dtype.is_floating_point or over_zero.dtype == torch.bool:
        raise FormatError(f"{path}: over_zero is {over_zero.dtype}; expected integer counts")
    if over_zero.numel() and int(over_zero.min()) < 0:
        raise FormatError(f"{path}: over_zero has negative counts")
    most = int(over_zero.max()) if over_zero.numel() else 0
    if most > total:
        raise FormatError(
            f"{path}: over_zero reaches {most} but total_tokens is {total}; a neuron cannot be "
            "active on more tokens than there are"
        )
    return total, over_zero.to(torch.int64)


def import_published(
    path: Path, languages: list[str], model: ModelIdentity, site: str
) -> NeuronSet:
    """Read a ``torch.save``-d ``List[List[LongTensor]]`` as published with LAPE.

    ``x[i][j]`` holds the neuron indices of language ``i`` in layer ``j``.

    Raises:
        FormatError: the file does not have that layout, or the number of
            languages differs from ``languages``.
    """
    import torch

    check_languages(languages, "--languages")
    try:
        lists = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FormatError(f"{path} does not exist") from None
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise FormatError(
            f"{path}: not a torch.save file of lists of tensors ({type(error).__name__}: {first})"
        ) from None
    if not isinstance(lists, list) or not all(isinstance(x, list) for x in lists):
        raise FormatError(f"{path}: expected List[List[LongTensor]] (language x layer)")
    if len(lists) != len(languages):
        raise FormatError(
            f"{path} holds {len(lists)} languages but {len(languages)} codes were given "
            f"({', '.join(languages)}); pass one code per list, in file order"
        )
    layers_of = {lang: len(layers) for lang, layers in zip(languages, lists, strict=True)}
    if set(layers_of.values()) != {model.num_layers}:
        raise ShapeMismatchError(
            f"{path}: layers per language are "
            f"{', '.join(f'{lang} {n}' for lang, n in layers_of.items())}; "
            f"the model has {model.num_layers}, and every language needs that many"
        )
    per_language = {
        lang: [_published_indices(t, f"{path}: {lang} layer {i}") for i, t in enumerate(layers)]
        for lang, layers in zip(languages, lists, strict=True)
    }
    return from_lists(
        per_language, model, site, MethodRecord(name="imported", params={"file": Path(path).name})
    )


def _published_indices(tensor: Any, where: str) -> list[int]:
    """The indices of one layer: a 1-D integer tensor (floats would be truncated)."""
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise FormatError(
            f"{where}: expected a tensor of neuron indices, got {type(tensor).__name__}"
        )
    if tensor.dim() != 1:
        raise FormatError(
            f"{where}: expected a 1-D tensor of neuron indices, got shape {tuple(tensor.shape)}"
        )
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise FormatError(f"{where}: expected integer neuron indices, got {tensor.dtype}")
    indices: list[int] = tensor.tolist()
    return indices
