"""Activation statistics per language and neuron: the one input of every method.

One streamed pass over a corpus per language collects, for every neuron at the
activation site, the number of text tokens with activation > 0 (LAPE's
``over_zero``), the sum and the sum of squares of its activation, and the token
count; on request also a histogram of each neuron's activations (for percentiles).
Accumulators have a fixed size ([layers, neurons] per language, times the bins of
a histogram), so memory does not grow with the number of tokens. The pass runs the model's base module
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
from langneurons.errors import ConfigError, FormatError
from langneurons.input_files import parse_json, template_fields
from langneurons.models.hooks import attached
from langneurons.text.windows import batches, windows

if TYPE_CHECKING:
    import torch

    from langneurons.models.handle import ModelHandle

FORMAT = "langneurons.statistics/1"

#: Upper edges of the positive histogram bins: 10^-3 to 10^3, eight bins per decade
#: (each 1.33 times the last). Bin 0 counts activations <= 0, bin 1 (0, 1e-3],
#: bin j + 1 (edge[j - 1], edge[j]], the last bin everything above 1e3.
HISTOGRAM_EDGES = [10 ** (i / 8 - 3) for i in range(49)]
HISTOGRAM_BINS = len(HISTOGRAM_EDGES) + 2


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
        histograms: [K, layers, neurons, HISTOGRAM_BINS] int64 activation counts per
            bin (see ``HISTOGRAM_EDGES``), when collected with ``histograms=True``.
    """

    languages: tuple[str, ...]
    tokens: torch.Tensor
    over_zero: torch.Tensor
    sums: torch.Tensor | None
    sums_sq: torch.Tensor | None
    provenance: dict[str, Any]
    prefix_tokens: torch.Tensor | None = None
    prefix_over_zero: torch.Tensor | None = None
    histograms: torch.Tensor | None = None

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

    def quantile(self, percent: float, language: str) -> torch.Tensor:
        """Return the ``percent`` percentile of each neuron's activation in ``language``.

        One language at a time ([layers, neurons]): the histograms of all languages
        of a 7B model, in float64, would take gigabytes.

        Read from the histograms, interpolating linearly inside a bin (so exact to
        the bin width, a factor of 1.33); 0 when it falls among activations <= 0,
        1e3 above the last edge.

        Raises:
            FormatError: the statistics were collected without histograms.
        """
        import torch

        if self.histograms is None:
            raise FormatError(
                "these statistics have no histograms; percentile values need statistics "
                "collected with histograms (a task asking for pNN gets them)"
            )
        k = self.languages.index(language)
        counts = self.histograms[k].double()
        cumulative = counts.cumsum(-1)
        target = torch.tensor(percent / 100 * max(int(self.tokens[k]), 1), dtype=torch.float64)
        bin_ = torch.searchsorted(cumulative, target.expand(*cumulative.shape[:-1], 1).contiguous())
        bin_ = bin_.clamp(max=HISTOGRAM_BINS - 1)
        before = (cumulative - counts).gather(-1, bin_)
        inside = counts.gather(-1, bin_).clamp(min=1)
        fraction = ((target - before) / inside).clamp(0, 1)
        edges = torch.tensor([0.0, 0.0, *HISTOGRAM_EDGES, HISTOGRAM_EDGES[-1]], dtype=torch.float64)
        lower, upper = edges[bin_], edges[(bin_ + 1).clamp(max=len(edges) - 1)]
        return (lower + fraction * (upper - lower)).squeeze(-1)


def collect(
    handle: ModelHandle,
    corpus: Mapping[str, Sequence[str]],
    window: int = 512,
    batch_size: int = 4,
    max_tokens: int | None = None,
    provenance: dict[str, Any] | None = None,
    progress: bool = True,
    histograms: bool = False,
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
        histograms: also count activations per bin (percentiles; the pass costs
            about a third more on CPU, and the file grows by ``HISTOGRAM_BINS``
            counts per neuron and language).
    """
    import torch
    from tqdm.auto import tqdm

    layers, width = handle.info.num_layers, handle.info.neurons_per_layer
    shape = (len(corpus), layers, width)
    over_zero = torch.zeros(shape, dtype=torch.int64)
    sums = torch.zeros(shape, dtype=torch.float64)
    sums_sq = torch.zeros(shape, dtype=torch.float64)
    bins = torch.zeros((*shape, HISTOGRAM_BINS), dtype=torch.int64) if histograms else None
    tokens = torch.zeros(len(corpus), dtype=torch.int64)
    base = handle.model.base_model
    started = time.perf_counter()
    for k, (lang, paragraphs) in enumerate(corpus.items()):
        acc = _Accumulators(layers, width, histograms)
        items = windows(handle.tokenizer, paragraphs, window, max_tokens, f"{lang} statistics text")
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
        over_zero[k], sums[k], sums_sq[k] = (acc.stacked(name) for name in _Accumulators.TOTALS)
        if bins is not None:
            bins[k] = acc.stacked("bins").reshape(layers, width, HISTOGRAM_BINS)
    elapsed = time.perf_counter() - started
    info = dict(provenance or {})
    info.update(window=window, max_tokens=max_tokens, seconds=round(elapsed, 2))
    return ActivationStats(tuple(corpus), tokens, over_zero, sums, sums_sq, info, histograms=bins)


class _Accumulators:
    """Running per-layer totals on the device of each layer's activations."""

    TOTALS = ("over_zero", "sums", "sums_sq")

    def __init__(self, layers: int, width: int, histograms: bool) -> None:
        self.skip = 0
        self.positions = 0
        self.width = width
        self.histograms = histograms
        self.totals: dict[str, list[Any]] = {
            name: [None] * layers for name in (*self.TOTALS, "bins")
        }

    def hook(self, layer: int) -> Any:
        def record(module: Any, inputs: Any, output: torch.Tensor) -> None:
            # [batch, positions, neurons]; some families flatten the first two axes. One
            # batch is summed in float32 over a 2-D view (3x faster on CPU than float64
            # reductions over two axes; a batch holds too few tokens to lose precision);
            # the running totals are float64.
            act = output.reshape(-1, self.positions, self.width)[:, self.skip :, :]
            act = act.reshape(-1, self.width).float()
            found = {
                "over_zero": (act > 0).sum(0),
                "sums": act.sum(0).double(),
                "sums_sq": (act * act).sum(0).double(),
            }
            if self.histograms:
                found["bins"] = _bin_counts(act)
            for name, value in found.items():
                running = self.totals[name]
                running[layer] = value if running[layer] is None else running[layer] + value

        return record

    def stacked(self, name: str) -> torch.Tensor:
        """The totals of every layer, on the CPU, [layers, ...] (zeros for a layer never seen)."""
        import torch

        size = self.width * HISTOGRAM_BINS if name == "bins" else self.width
        dtype = torch.float64 if name in ("sums", "sums_sq") else torch.int64
        empty = torch.zeros(size, dtype=dtype)
        return torch.stack([empty if v is None else v.cpu() for v in self.totals[name]])


def _bin_counts(act: torch.Tensor) -> torch.Tensor:
    """Counts per (neuron, bin) of ``act`` [tokens, neurons], flattened to [neurons * bins]."""
    import torch

    edges = torch.tensor(HISTOGRAM_EDGES, device=act.device)
    bins = (torch.bucketize(act, edges) + 1).masked_fill_(act <= 0, 0)
    offsets = torch.arange(act.shape[1], device=act.device) * HISTOGRAM_BINS
    return torch.bincount((bins + offsets).flatten(), minlength=act.shape[1] * HISTOGRAM_BINS)


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
            "histograms": stats.histograms,
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
        FormatError: the file is missing, truncated, not safetensors, not in format
            ``langneurons.statistics/1``, or its tensors contradict each other
            (see :func:`check`).
    """
    from safetensors import SafetensorError, safe_open

    if not Path(path).is_file():
        raise FormatError(f"statistics {path} do not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise FormatError(
                    f"{path} has format {metadata.get('format')!r}; this version reads {FORMAT} "
                    "(statistics written by langneurons identify --stats-out or import-stats)"
                )
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as error:
        raise FormatError(
            f"statistics {path} are not a readable safetensors file ({error}); "
            "is it truncated? write it again"
        ) from None
    missing = [name for name in ("tokens", "over_zero") if name not in tensors]
    missing += [key for key in ("languages", "provenance") if key not in metadata]
    if missing:
        raise FormatError(
            f"statistics {path}: missing '{missing[0]}'; write it again with "
            "langneurons identify --stats-out or import-stats"
        )
    languages = parse_json(metadata["languages"], f"statistics {path}: metadata 'languages'")
    provenance = parse_json(metadata["provenance"], f"statistics {path}: metadata 'provenance'")
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise FormatError(f"statistics {path}: metadata 'languages' must be a list of codes")
    if not isinstance(provenance, dict):
        raise FormatError(f"statistics {path}: metadata 'provenance' must be an object")
    stats = ActivationStats(
        tuple(languages),
        tensors["tokens"],
        tensors["over_zero"],
        tensors.get("sums"),
        tensors.get("sums_sq"),
        provenance,
        tensors.get("prefix_tokens"),
        tensors.get("prefix_over_zero"),
        tensors.get("histograms"),
    )
    check(stats, f"statistics {path}")
    return stats


def check(stats: ActivationStats, where: str) -> None:
    """Raise unless the tensors of ``stats`` fit together and the counts are possible.

    Shapes: ``tokens`` [K] for K languages, counts [K, layers, neurons], histograms
    [K, layers, neurons, HISTOGRAM_BINS]; counts are integers between 0 and the
    language's token count (a neuron cannot be active on more tokens than there are).

    Raises:
        FormatError: naming the tensor, and the language for impossible counts.
    """
    import torch

    k = len(stats.languages)
    if len(set(stats.languages)) != k:
        raise FormatError(f"{where}: a language is listed twice ({', '.join(stats.languages)})")
    if stats.over_zero.dim() != 3:
        raise FormatError(
            f"{where}: over_zero is {tuple(stats.over_zero.shape)}; expected [languages, layers, "
            "neurons]"
        )
    counts = tuple(stats.over_zero.shape)
    expected: dict[str, tuple[int, ...]] = {
        "tokens": (k,),
        "over_zero": (k, *counts[1:]),
        "sums": (k, *counts[1:]),
        "sums_sq": (k, *counts[1:]),
        "prefix_tokens": (k,),
        "prefix_over_zero": (k, *counts[1:]),
        "histograms": (k, *counts[1:], HISTOGRAM_BINS),
    }
    for name, shape in expected.items():
        tensor = getattr(stats, name)
        if tensor is None:
            continue
        if tuple(tensor.shape) != shape:
            raise FormatError(
                f"{where}: {name} is {tuple(tensor.shape)}; with {k} languages "
                f"({', '.join(stats.languages)}) it must be {shape}"
            )
        floating = name in ("sums", "sums_sq")
        if tensor.dtype.is_floating_point != floating or tensor.dtype == torch.bool:
            kind = "floating-point" if floating else "integer"
            raise FormatError(f"{where}: {name} is {tensor.dtype}; expected {kind} values")
    if (stats.sums is None) != (stats.sums_sq is None):
        raise FormatError(f"{where}: sums and sums_sq come together (one of them is missing)")
    if (stats.prefix_tokens is None) != (stats.prefix_over_zero is None):
        raise FormatError(f"{where}: prefix_tokens and prefix_over_zero come together")
    pairs = [("over_zero", stats.tokens, stats.over_zero)]
    if stats.prefix_tokens is not None and stats.prefix_over_zero is not None:
        pairs.append(("prefix_over_zero", stats.prefix_tokens, stats.prefix_over_zero))
    for name, tokens, over_zero in pairs:
        for i, lang in enumerate(stats.languages):
            total, found = int(tokens[i]), over_zero[i]
            if total < 0 or int(found.min()) < 0:
                raise FormatError(f"{where}: negative counts for '{lang}'")
            most = int(found.max())
            if most > total:
                layer, neuron = divmod(int(found.argmax()), found.shape[-1])
                raise FormatError(
                    f"{where}: {name} of '{lang}' is {most} at layer {layer} neuron {neuron}, "
                    f"more than its {total} tokens; the counts do not belong to these token "
                    "totals"
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
        ConfigError: a template has a field other than ``{lang}``, or none while
            there are several languages (every language would read one file).
        FormatError: a file is missing, not a ``torch.save`` file, has other keys,
            another shape, non-integer counts, or counts above its ``total_tokens``.
    """
    import torch

    shape = (model["num_layers"], model["neurons_per_layer"])
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
        "model": model,
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
