"""Activation statistics per language and neuron: the one input of every method.

One streamed pass over a corpus per language collects, for every neuron at the
activation site, the number of text tokens with activation > 0 (LAPE's
``over_zero``), the sum and the sum of squares of its activation, and the token
count. Accumulators have a fixed size ([layers, neurons] per language), so memory
does not grow with the number of tokens. The pass runs the model's base module
(``model.base_model``): the statistics need no logits, and skipping the
unembedding saves most of the compute on large-vocabulary models.

Files use format ``langneurons.statistics/1`` (safetensors with JSON metadata).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons.atomic_write import atomic_path
from langneurons.errors import FormatError
from langneurons.hooks import attached
from langneurons.windows import batches, windows

if TYPE_CHECKING:
    import torch

    from langneurons.model_handle import ModelHandle

FORMAT = "langneurons.statistics/1"


@dataclass(frozen=True)
class ActivationStats:
    """Per-language, per-neuron activation statistics.

    Attributes:
        languages: language codes, in the order of the first tensor axis.
        tokens: [K] int64, text tokens seen per language.
        over_zero: [K, layers, neurons] int64, tokens with activation > 0.
        sums: [K, layers, neurons] float64, sum of activations (None when
            imported from counts alone).
        sums_sq: [K, layers, neurons] float64, sum of squared activations (or None).
        provenance: model, corpus and settings the statistics came from.
        prefix_tokens: [K] int64, tokens of the prompts alone, when the corpus
            is prompt + response and only response tokens should count.
        prefix_over_zero: [K, layers, neurons] int64, ``over_zero`` of the prompts alone.
    """

    languages: tuple[str, ...]
    tokens: torch.Tensor
    over_zero: torch.Tensor
    sums: torch.Tensor | None
    sums_sq: torch.Tensor | None
    provenance: dict[str, Any]
    prefix_tokens: torch.Tensor | None = None
    prefix_over_zero: torch.Tensor | None = None

    def mean(self) -> torch.Tensor:
        """Return the mean activation, [K, layers, neurons] float64.

        Raises:
            FormatError: the statistics carry counts only (imported).
        """
        if self.sums is None:
            raise FormatError(
                "these statistics hold activation counts only (imported); collect them with "
                "langneurons to get activation sums"
            )
        return self.sums / self.tokens.clamp(min=1)[:, None, None]


def collect(
    handle: ModelHandle,
    corpus: Mapping[str, Sequence[str]],
    window: int = 512,
    batch_size: int = 4,
    max_tokens: int | None = None,
    provenance: dict[str, Any] | None = None,
    progress: bool = True,
) -> ActivationStats:
    """Run the model over each language's paragraphs and accumulate statistics.

    Args:
        handle: the loaded model.
        corpus: language -> paragraphs.
        window: text tokens per model input.
        batch_size: windows per forward pass.
        max_tokens: text tokens per language (None: all).
        provenance: recorded with the statistics.
        progress: show a progress bar per language.
    """
    import torch
    from tqdm.auto import tqdm

    layers, width = handle.info.num_layers, handle.info.neurons_per_layer
    shape = (len(corpus), layers, width)
    over_zero = torch.zeros(shape, dtype=torch.int64)
    sums = torch.zeros(shape, dtype=torch.float64)
    sums_sq = torch.zeros(shape, dtype=torch.float64)
    tokens = torch.zeros(len(corpus), dtype=torch.int64)
    base = handle.model.base_model
    started = time.perf_counter()
    for k, (lang, paragraphs) in enumerate(corpus.items()):
        acc = _Accumulators(layers)
        items = list(windows(handle.tokenizer, paragraphs, window, max_tokens))
        bar = tqdm(
            total=sum(w.text_tokens for w in items),
            desc=f"statistics {lang}",
            unit="tok",
            disable=not progress,
            leave=False,
        )
        hooks = [(site, acc.hook(layer)) for layer, site in enumerate(handle.sites())]
        with attached(hooks), torch.inference_mode():
            for batch in batches(items, batch_size):
                acc.skip, acc.positions = batch[0].prefix, len(batch[0].ids)
                ids = torch.tensor([w.ids for w in batch], device=handle.model.device)
                base(input_ids=ids, use_cache=False)
                bar.update(sum(w.text_tokens for w in batch))
        bar.close()
        tokens[k] = sum(w.text_tokens for w in items)
        over_zero[k], sums[k], sums_sq[k] = acc.result(width)
    elapsed = time.perf_counter() - started
    info = dict(provenance or {})
    info.update(window=window, max_tokens=max_tokens, seconds=round(elapsed, 2))
    return ActivationStats(tuple(corpus), tokens, over_zero, sums, sums_sq, info)


class _Accumulators:
    """Running per-layer sums on the device of each layer's activations."""

    def __init__(self, layers: int) -> None:
        self.skip = 0
        self.positions = 0
        self.over_zero: list[Any] = [None] * layers
        self.sums: list[Any] = [None] * layers
        self.sums_sq: list[Any] = [None] * layers

    def hook(self, layer: int) -> Any:

        def record(module: Any, inputs: Any, output: torch.Tensor) -> None:
            # [batch, positions, neurons]; some families flatten the first two axes. One
            # batch is summed in float32 over a 2-D view (3x faster on CPU than float64
            # reductions over two axes; a batch holds too few tokens to lose precision);
            # the running totals are float64.
            width = output.shape[-1]
            act = output.reshape(-1, self.positions, width)[:, self.skip :, :]
            act = act.reshape(-1, width).float()
            positive = (act > 0).sum(0)
            total = act.sum(0).double()
            squares = (act * act).sum(0).double()
            if self.over_zero[layer] is None:
                self.over_zero[layer], self.sums[layer], self.sums_sq[layer] = (
                    positive,
                    total,
                    squares,
                )
            else:
                self.over_zero[layer] += positive
                self.sums[layer] += total
                self.sums_sq[layer] += squares

        return record

    def result(self, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        import torch

        def stacked(values: list[Any], dtype: torch.dtype) -> torch.Tensor:
            return torch.stack(
                [v.cpu() if v is not None else torch.zeros(width, dtype=dtype) for v in values]
            ).to(dtype)

        return (
            stacked(self.over_zero, torch.int64),
            stacked(self.sums, torch.float64),
            stacked(self.sums_sq, torch.float64),
        )


def save(stats: ActivationStats, path: Path) -> None:
    """Write ``stats`` to ``path`` atomically (safetensors)."""
    from safetensors.torch import save_file

    tensors = {
        name: tensor
        for name, tensor in {
            "tokens": stats.tokens,
            "over_zero": stats.over_zero,
            "sums": stats.sums,
            "sums_sq": stats.sums_sq,
            "prefix_tokens": stats.prefix_tokens,
            "prefix_over_zero": stats.prefix_over_zero,
        }.items()
        if tensor is not None
    }
    metadata = {
        "format": FORMAT,
        "languages": json.dumps(list(stats.languages)),
        "provenance": json.dumps(stats.provenance),
    }
    with atomic_path(Path(path)) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def load(path: Path) -> ActivationStats:
    """Read statistics written by :func:`save`.

    Raises:
        FormatError: the file is not in format ``langneurons.statistics/1``.
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise FormatError(
                f"{path} has format {metadata.get('format')!r}; this version reads {FORMAT}"
            )
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    return ActivationStats(
        tuple(json.loads(metadata["languages"])),
        tensors["tokens"],
        tensors["over_zero"],
        tensors.get("sums"),
        tensors.get("sums_sq"),
        json.loads(metadata["provenance"]),
        tensors.get("prefix_tokens"),
        tensors.get("prefix_over_zero"),
    )


def import_counts(
    full: str,
    prefix: str | None,
    languages: Sequence[str],
    model: dict[str, Any],
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
        FormatError: a file is missing, has other keys, or another shape.
    """
    import torch

    shape = (model["num_layers"], model["neurons_per_layer"])

    def read(template: str) -> tuple[torch.Tensor, torch.Tensor]:
        tokens, counts = [], []
        for lang in languages:
            path = Path(template.format(lang=lang))
            try:
                data = torch.load(path, map_location="cpu", weights_only=True)
            except FileNotFoundError:
                raise FormatError(f"{path} does not exist") from None
            if not isinstance(data, dict) or set(data) != {"total_tokens", "over_zero"}:
                raise FormatError(f"{path}: expected {{'total_tokens', 'over_zero'}}")
            if tuple(data["over_zero"].shape) != shape:
                raise FormatError(
                    f"{path}: over_zero is {tuple(data['over_zero'].shape)}, the model is {shape}"
                )
            tokens.append(int(data["total_tokens"]))
            counts.append(data["over_zero"].to(torch.int64))
        return torch.tensor(tokens, dtype=torch.int64), torch.stack(counts)

    tokens, over_zero = read(full)
    prefix_tokens, prefix_over_zero = read(prefix) if prefix else (None, None)
    provenance = {
        "model": model,
        "site": site,
        "corpus": f"imported:{Path(full).name}",
        "corpus_sha256": None,
    }
    return ActivationStats(
        tuple(languages), tokens, over_zero, None, None, provenance, prefix_tokens, prefix_over_zero
    )
