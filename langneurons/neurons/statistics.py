"""Activation statistics per language and neuron (the one input of every method), and their file.

For every neuron at the activation site: the number of text tokens with
activation > 0 (LAPE's ``over_zero``), the sum and the sum of squares of its
activation, and the token count; optionally a histogram of its activations (for
percentiles). :mod:`langneurons.neurons.collection` computes them from a model.

Files use format ``langneurons.statistics/1`` (safetensors with JSON metadata).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons.atomic_write import atomic_path
from langneurons.errors import FormatError
from langneurons.input_files import parse_json

if TYPE_CHECKING:
    import torch


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
        half_tokens, half_over_zero, half_sums, half_sums_sq: the same totals over
            one half of the windows alone (collected statistics; windows alternate
            between the halves, see :func:`langneurons.neurons.collection.accumulate`);
            the other half is the rest. Two disjoint halves of the corpus, for the
            split-half stability of a method (:meth:`halves`).
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
    half_tokens: torch.Tensor | None = None
    half_over_zero: torch.Tensor | None = None
    half_sums: torch.Tensor | None = None
    half_sums_sq: torch.Tensor | None = None

    def halves(self) -> tuple[ActivationStats, ActivationStats] | None:
        """The statistics of the two halves of the windows, or None (not collected).

        Each half is a full ``ActivationStats`` of the same languages (no
        histograms): any method identifies on it as on the whole.
        """
        if (
            self.half_tokens is None
            or self.half_over_zero is None
            or self.half_sums is None
            or self.half_sums_sq is None
            or self.sums is None
            or self.sums_sq is None
        ):
            return None
        first = ActivationStats(
            self.languages,
            self.half_tokens,
            self.half_over_zero,
            self.half_sums,
            self.half_sums_sq,
            self.provenance,
        )
        second = ActivationStats(
            self.languages,
            self.tokens - self.half_tokens,
            self.over_zero - self.half_over_zero,
            self.sums - self.half_sums,
            self.sums_sq - self.half_sums_sq,
            self.provenance,
        )
        return first, second

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


#: The tensor fields of :class:`ActivationStats`, by their names in the file. Each is a
#: sum over tokens, so the statistics of disjoint shares of a corpus add up.
TENSORS = (
    "tokens",
    "over_zero",
    "sums",
    "sums_sq",
    "prefix_tokens",
    "prefix_over_zero",
    "histograms",
    "half_tokens",
    "half_over_zero",
    "half_sums",
    "half_sums_sq",
)


def tensors(stats: ActivationStats) -> dict[str, torch.Tensor]:
    """Return the tensors ``stats`` holds, by name (those it lacks left out)."""
    found = {name: getattr(stats, name) for name in TENSORS}
    return {name: tensor for name, tensor in found.items() if tensor is not None}


def save(stats: ActivationStats, path: Path) -> None:
    """Write ``stats`` to ``path`` atomically (safetensors)."""
    from safetensors.torch import save_file

    metadata = {
        "format": FORMAT,
        "languages": json.dumps(list(stats.languages)),
        "provenance": json.dumps(stats.provenance),
    }
    with atomic_path(Path(path)) as tmp:
        save_file(
            {k: v.contiguous() for k, v in tensors(stats).items()}, str(tmp), metadata=metadata
        )


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
            found = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as error:
        raise FormatError(
            f"statistics {path} are not a readable safetensors file ({error}); "
            "is it truncated? write it again"
        ) from None
    missing = [name for name in ("tokens", "over_zero") if name not in found]
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
        found["tokens"],
        found["over_zero"],
        found.get("sums"),
        found.get("sums_sq"),
        provenance,
        found.get("prefix_tokens"),
        found.get("prefix_over_zero"),
        *(found.get(name) for name in TENSORS[6:]),
    )
    check(stats, f"statistics {path}")
    return _widened(stats)


def _widened(stats: ActivationStats) -> ActivationStats:
    """``stats`` with counts as int64 and sums as float64, whatever widths the file held.

    Statistics get summed (shards, ranks): an int32 count overflows past 2.1
    billion tokens, and float32 sums of shares lose digits.
    """
    import torch

    wide = {
        name: tensor.to(torch.float64 if tensor.dtype.is_floating_point else torch.int64)
        for name, tensor in tensors(stats).items()
    }
    return with_tensors(stats, wide)


def with_tensors(
    stats: ActivationStats,
    found: Mapping[str, torch.Tensor],
    provenance: dict[str, Any] | None = None,
) -> ActivationStats:
    """Return ``stats`` with the tensors named in ``found`` (and the provenance, if given) replaced."""
    fields: dict[str, Any] = dict(found)
    if provenance is not None:
        fields["provenance"] = provenance
    return replace(stats, **fields)


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
        "half_tokens": (k,),
        "half_over_zero": (k, *counts[1:]),
        "half_sums": (k, *counts[1:]),
        "half_sums_sq": (k, *counts[1:]),
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
        floating = name in ("sums", "sums_sq", "half_sums", "half_sums_sq")
        if tensor.dtype.is_floating_point != floating or tensor.dtype == torch.bool:
            kind = "floating-point" if floating else "integer"
            raise FormatError(f"{where}: {name} is {tensor.dtype}; expected {kind} values")
    if (stats.sums is None) != (stats.sums_sq is None):
        raise FormatError(f"{where}: sums and sums_sq come together (one of them is missing)")
    if (stats.prefix_tokens is None) != (stats.prefix_over_zero is None):
        raise FormatError(f"{where}: prefix_tokens and prefix_over_zero come together")
    halves = [getattr(stats, name) for name in TENSORS[7:]]
    if any(h is not None for h in halves) and (stats.sums is None or None in halves):
        raise FormatError(f"{where}: the half_* tensors come together, and with sums and sums_sq")
    pairs = [("over_zero", stats.tokens, stats.over_zero)]
    if stats.prefix_tokens is not None and stats.prefix_over_zero is not None:
        pairs.append(("prefix_over_zero", stats.prefix_tokens, stats.prefix_over_zero))
    if stats.half_tokens is not None and stats.half_over_zero is not None:
        pairs.append(("half_over_zero", stats.half_tokens, stats.half_over_zero))
        rest = stats.over_zero - stats.half_over_zero
        if bool((stats.half_tokens > stats.tokens).any()) or int(rest.min()) < 0:
            raise FormatError(f"{where}: a half holds more than the whole; write it again")
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
