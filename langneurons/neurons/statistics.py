"""Activation statistics per language and neuron (the one input of every method), and their file.

For every neuron at the activation site: the number of text tokens with
activation > 0 (LAPE's ``over_zero``), the sum and the sum of squares of its
activation, and the token count; optionally a histogram of its activations (for
percentiles); optionally its mean activation over every unit of ``UNIT_TOKENS``
consecutive tokens (what Kojima et al. 2024 rank by average precision, with
sentences as the units); optionally the sum of the residual stream after every
layer (the language means of DiffMean vectors, CLaS-Bench 2026).
:mod:`langneurons.neurons.collection` computes them from a model. The unit means are the one field that is not a sum: shares of a pass
concatenate them (:data:`UNIT_TENSORS`).

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

#: Text tokens per unit of the unit means: a window's text is cut into units of this
#: many consecutive tokens (a remainder shorter than one unit is left out), about a
#: sentence, the unit of Kojima et al. 2024.
UNIT_TOKENS = 32


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
        unit_means: [units, layers, neurons] float32, each unit's mean activation,
            when collected with ``unit_means=True``. Kept whole, not binned: a
            histogram of 1.33-wide bins changed half of Kojima et al.'s selection on
            gemma-3-270m (docs/methods.md); they take 4 bytes x neurons per unit.
        unit_languages: [units] int64, the index of each unit's language.
        unit_halves: [units] int64, the half (0 or 1) of each unit's window.
        residual_sums: [K, layers, hidden] float64, the sum over text tokens of the
            residual stream after each decoder layer (its output), when collected
            with ``residual=True``: the language means that DiffMean vectors are
            differences of.
        half_residual_sums: the same over the first half of the windows.
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
    unit_means: torch.Tensor | None = None
    unit_languages: torch.Tensor | None = None
    unit_halves: torch.Tensor | None = None
    residual_sums: torch.Tensor | None = None
    half_residual_sums: torch.Tensor | None = None

    def halves(self) -> tuple[ActivationStats, ActivationStats] | None:
        """The statistics of the two halves of the windows, or None (not collected).

        Each half is a full ``ActivationStats`` of the same languages (no
        activation histograms; unit means where collected): any method
        identifies on it as on the whole.
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
            **self._units_of_half(0),
            residual_sums=self.half_residual_sums,
        )
        second = ActivationStats(
            self.languages,
            self.tokens - self.half_tokens,
            self.over_zero - self.half_over_zero,
            self.sums - self.half_sums,
            self.sums_sq - self.half_sums_sq,
            self.provenance,
            **self._units_of_half(1),
            residual_sums=None
            if self.residual_sums is None or self.half_residual_sums is None
            else self.residual_sums - self.half_residual_sums,
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

    def residual_means(self) -> torch.Tensor:
        """The mean residual state after each layer per language, [K, layers, hidden] float64.

        Raises:
            FormatError: the statistics were collected without residual sums.
        """
        if self.residual_sums is None:
            raise FormatError(
                "these statistics have no residual sums; collect them for a vector method "
                "(diffmean asks for them)"
            )
        return self.residual_sums / self.tokens.clamp(min=1)[:, None, None]

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

    def _units_of_half(self, half: int) -> dict[str, torch.Tensor]:
        """The unit fields of one half's units (none where not collected)."""
        if self.unit_means is None or self.unit_languages is None or self.unit_halves is None:
            return {}
        mine = self.unit_halves == half
        return {
            "unit_means": self.unit_means[mine],
            "unit_languages": self.unit_languages[mine],
            "unit_halves": self.unit_halves[mine],
        }

    def language_units(self, language: str) -> torch.Tensor:
        """The unit means of ``language``, [units, layers, neurons] float32.

        Raises:
            FormatError: the statistics were collected without unit means.
        """
        if self.unit_means is None or self.unit_languages is None:
            raise FormatError(
                "these statistics have no unit means; collect them for a method that needs "
                "them (kojima2024) or a unit value (unit_p50)"
            )
        mine: torch.Tensor = self.unit_means[self.unit_languages == self.languages.index(language)]
        return mine


#: The tensor fields of :class:`ActivationStats`, by their names in the file. Each is a
#: sum over tokens (or units), so the statistics of disjoint shares of a corpus add up.
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
    "unit_means",
    "unit_languages",
    "unit_halves",
    "residual_sums",
    "half_residual_sums",
)
#: the tensors with one row per unit: shares concatenate them instead of summing
UNIT_TENSORS = ("unit_means", "unit_languages", "unit_halves")
#: the tensors of the first half of the windows (see :meth:`ActivationStats.halves`)
HALVES = ("half_tokens", "half_over_zero", "half_sums", "half_sums_sq")


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
        **{name: found.get(name) for name in TENSORS[4:]},
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
        if name not in UNIT_TENSORS  # values, not sums; checked as float32 and int64
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
        floating = name in ("sums", "sums_sq", "half_sums", "half_sums_sq", "unit_means")
        if tensor.dtype.is_floating_point != floating or tensor.dtype == torch.bool:
            kind = "floating-point" if floating else "integer"
            raise FormatError(f"{where}: {name} is {tensor.dtype}; expected {kind} values")
    if (stats.sums is None) != (stats.sums_sq is None):
        raise FormatError(f"{where}: sums and sums_sq come together (one of them is missing)")
    if (stats.prefix_tokens is None) != (stats.prefix_over_zero is None):
        raise FormatError(f"{where}: prefix_tokens and prefix_over_zero come together")
    halves = [getattr(stats, name) for name in HALVES]
    if any(h is not None for h in halves) and (stats.sums is None or None in halves):
        raise FormatError(f"{where}: the half_* tensors come together, and with sums and sums_sq")
    _check_units(stats, where)
    _check_residual(stats, where)
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


def _check_residual(stats: ActivationStats, where: str) -> None:
    """Residual sums are finite floats [languages, layers, hidden]; their half comes with them.

    Raises:
        FormatError: naming the tensor.
    """
    import torch

    sums, half = stats.residual_sums, stats.half_residual_sums
    if sums is None:
        if half is not None:
            raise FormatError(f"{where}: half_residual_sums come with residual_sums")
        return
    leading = (len(stats.languages), stats.over_zero.shape[1])
    for name, tensor in (("residual_sums", sums), ("half_residual_sums", half)):
        if tensor is None:
            continue
        if (
            tensor.dim() != 3
            or tuple(tensor.shape[:2]) != leading
            or tuple(tensor.shape) != tuple(sums.shape)
        ):
            raise FormatError(
                f"{where}: {name} is {tuple(tensor.shape)}; expected [{leading[0]} languages, "
                f"{leading[1]} layers, hidden]"
            )
        if not tensor.dtype.is_floating_point or not bool(torch.isfinite(tensor).all()):
            raise FormatError(f"{where}: {name} must be finite floating-point values")
    if half is not None and stats.half_tokens is None:
        raise FormatError(f"{where}: half_residual_sums come with half_tokens")


def _check_units(stats: ActivationStats, where: str) -> None:
    """The unit tensors come together, one row per unit, of known languages and halves.

    Raises:
        FormatError: naming the tensor (and the language for too many units).
    """
    import torch

    found = [getattr(stats, name) for name in UNIT_TENSORS]
    if all(t is None for t in found):
        return
    means, languages, halves = found
    if means is None or languages is None or halves is None:
        raise FormatError(f"{where}: {', '.join(UNIT_TENSORS)} come together")
    width = tuple(stats.over_zero.shape[1:])
    if means.dim() != 3 or tuple(means.shape[1:]) != width:
        raise FormatError(
            f"{where}: unit_means is {tuple(means.shape)}; expected [units, {width[0]}, {width[1]}]"
        )
    if means.dtype != torch.float32 or not bool(torch.isfinite(means).all()):
        raise FormatError(f"{where}: unit_means must be finite float32 values")
    for name, tensor, bound in (
        ("unit_languages", languages, len(stats.languages)),
        ("unit_halves", halves, 2),
    ):
        if tensor.dtype != torch.int64 or tuple(tensor.shape) != (means.shape[0],):
            raise FormatError(f"{where}: {name} must be int64, one per unit ({means.shape[0]})")
        if means.shape[0] and (int(tensor.min()) < 0 or int(tensor.max()) >= bound):
            raise FormatError(f"{where}: {name} holds a value outside 0..{bound - 1}")
    per_language = torch.bincount(languages, minlength=len(stats.languages))
    for i, lang in enumerate(stats.languages):
        if int(per_language[i]) > int(stats.tokens[i]) // UNIT_TOKENS:
            raise FormatError(
                f"{where}: {int(per_language[i])} units of '{lang}', more than its "
                f"{int(stats.tokens[i])} tokens hold; write the statistics again"
            )
