"""Collecting activation statistics: one streamed pass of the model over each language's text.

Accumulators have a fixed size ([layers, neurons] per language, times the bins of
a histogram), so memory does not grow with the number of tokens. The pass runs the
model's base module (``model.base_model``): the statistics need no logits, and
skipping the unembedding saves most of the compute on large-vocabulary models.
A pass may collect one share of the batches (a torchrun rank's, or ``--shard``'s;
see :mod:`langneurons.neurons.sharding`): the shares' statistics sum to the whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langneurons.models.architecture import decoder_layers, hidden_size
from langneurons.models.hooks import attached
from langneurons.neurons.sharding import WHOLE, Share
from langneurons.neurons.statistics import (
    HISTOGRAM_BINS,
    HISTOGRAM_EDGES,
    UNIT_TOKENS,
    ActivationStats,
)
from langneurons.text.windows import Window, batches, stream_windows

if TYPE_CHECKING:
    import torch
    from torch import nn

    from langneurons.models.handle import ModelHandle


STATISTICS_WINDOW = 512  # text tokens per model input, unless a task or --window says otherwise


def collect(
    handle: ModelHandle,
    corpus: Mapping[str, Sequence[str]],
    window: int = STATISTICS_WINDOW,
    batch_size: int = 4,
    max_tokens: int | None = None,
    provenance: dict[str, Any] | None = None,
    progress: bool = True,
    histograms: bool = False,
    share: Share = WHOLE,
    unit_means: bool = False,
    residual: bool = False,
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
        share: collect only these batches (numbered over all languages in order);
            a part is recorded as ``provenance["shard"]``.
        unit_means: also keep the mean activation of every unit of ``UNIT_TOKENS``
            tokens (Kojima et al.'s average precision; 4 bytes per neuron and unit,
            so memory grows with the text: about 4.6 kB per token on gemma-3-270m).
        residual: also sum the residual stream after every decoder layer (the
            language means of DiffMean vectors; ``[layers, hidden]`` per language).
    """
    import torch
    from tqdm.auto import tqdm

    layers, width = handle.info.num_layers, handle.info.neurons_per_layer
    shape = (len(corpus), layers, width)
    # [half, language, ...]: the even- and odd-numbered batches' totals
    over_zero = torch.zeros((2, *shape), dtype=torch.int64)
    sums = torch.zeros((2, *shape), dtype=torch.float64)
    sums_sq = torch.zeros((2, *shape), dtype=torch.float64)
    tokens = torch.zeros((2, len(corpus)), dtype=torch.int64)
    bins = torch.zeros((*shape, HISTOGRAM_BINS), dtype=torch.int64) if histograms else None
    units: list[tuple[torch.Tensor, int, list[int]]] = []  # (means, language, halves)
    streams: list[torch.Tensor] = []  # per language, [half, layers, hidden]
    base = handle.model.base_model
    outputs = decoder_layers(handle.model, handle.architecture) if residual else []
    hidden = hidden_size(handle.model, handle.architecture)
    started = time.perf_counter()
    numbering = _Numbering(share)
    for k, (lang, paragraphs) in enumerate(corpus.items()):
        acc = Accumulators(layers, width, histograms, unit_means, hidden)
        where = f"{lang} statistics text"
        stream = stream_windows(handle.tokenizer, paragraphs, window, max_tokens, where)
        expected = None if max_tokens is None or share != WHOLE else max_tokens
        bar = tqdm(
            total=expected, desc=f"statistics {lang}", unit="tok", disable=not progress, leave=False
        )
        accumulate(
            acc,
            base,
            handle.sites(),
            numbering.mine(batches(stream, batch_size)),
            bar.update,
            outputs,
        )
        bar.close()
        for half in (0, 1):
            tokens[half, k] = acc.tokens[half]
            over_zero[half, k], sums[half, k], sums_sq[half, k] = (
                acc.stacked(name, half) for name in Accumulators.TOTALS
            )
        if bins is not None:
            bins[k] = (acc.stacked("bins", 0) + acc.stacked("bins", 1)).reshape(
                layers, width, HISTOGRAM_BINS
            )
        if unit_means:
            units.append((acc.unit_means(), k, acc.unit_halves))
        if residual:
            streams.append(torch.stack([acc.stacked("residual", half) for half in (0, 1)]))
    elapsed = time.perf_counter() - started
    info = dict(provenance or {})
    info.update(
        window=window, batch_size=batch_size, max_tokens=max_tokens, seconds=round(elapsed, 2)
    )
    if share != WHOLE:
        info["shard"] = share.record()
    return ActivationStats(
        tuple(corpus),
        tokens.sum(0),
        over_zero.sum(0),
        sums.sum(0),
        sums_sq.sum(0),
        info,
        histograms=bins,
        half_tokens=tokens[0],
        half_over_zero=over_zero[0],
        half_sums=sums[0],
        half_sums_sq=sums_sq[0],
        **(_unit_fields(units, layers, width) if unit_means else {}),
        **(_residual_fields(streams) if residual else {}),
    )


def _residual_fields(streams: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """The residual sums of :class:`ActivationStats` from each language's [half, layers, hidden]."""
    import torch

    halves = torch.stack(streams, dim=1)  # [half, language, layers, hidden]
    return {"residual_sums": halves.sum(0), "half_residual_sums": halves[0]}


def _unit_fields(
    units: list[tuple[torch.Tensor, int, list[int]]], layers: int, width: int
) -> dict[str, torch.Tensor]:
    """The unit tensors of :class:`ActivationStats` from each language's unit means."""
    import torch

    empty = torch.zeros((0, layers, width))
    return {
        "unit_means": torch.cat([empty, *(means for means, _, _ in units)]),
        "unit_languages": torch.tensor(
            [k for means, k, _ in units for _ in range(means.shape[0])], dtype=torch.int64
        ),
        "unit_halves": torch.tensor(
            [h for _, _, halves in units for h in halves], dtype=torch.int64
        ),
    }


class _Numbering:
    """Numbers batches over all languages as the one-process pass forms them; keeps a share's."""

    def __init__(self, share: Share) -> None:
        self.share = share
        self.next = 0

    def mine(self, grouped: Iterable[list[Window]]) -> Iterator[tuple[int, list[Window]]]:
        """The batches of ``grouped`` in the share, with their numbers (counted across calls)."""
        for batch in grouped:
            number, self.next = self.next, self.next + 1
            if self.share.holds(number):
                yield number, batch


def accumulate(
    acc: Accumulators,
    base: nn.Module,
    sites: Sequence[nn.Module],
    numbered: Iterable[tuple[int, list[Window]]],
    done: Callable[[int], object] = lambda tokens: None,
    outputs: Sequence[nn.Module] = (),
) -> None:
    """Run ``base`` (the model without its head) over numbered batches, adding to ``acc``.

    Row ``r`` of batch ``n`` adds to half ``(n + r) % 2``, so windows alternate
    between the halves. The inner loop of :func:`collect`, alone so that
    ``scripts/gpu_speed.py`` times exactly it; ``done`` hears the text tokens of
    each finished batch; the residual stream is summed at ``outputs`` (the
    decoder layers), where given.
    """
    import torch

    device = next(base.parameters()).device
    hooks = [(site, acc.hook(layer)) for layer, site in enumerate(sites)]
    hooks += [(module, acc.residual_hook(layer)) for layer, module in enumerate(outputs)]
    with attached(hooks), torch.inference_mode():
        for number, batch in numbered:
            acc.number, acc.skip, acc.positions = number, batch[0].prefix, len(batch[0].ids)
            base(input_ids=torch.tensor([w.ids for w in batch], device=device), use_cache=False)
            for r, window in enumerate(batch):
                acc.tokens[(number + r) % 2] += window.text_tokens
                if acc.keep_units:
                    acc.unit_halves += [(number + r) % 2] * (window.text_tokens // UNIT_TOKENS)
            done(sum(w.text_tokens for w in batch))


class Accumulators:
    """Running per-layer totals of each half of the pass, on the device of each layer's activations.

    The halves take alternate windows (see :func:`accumulate`): two disjoint
    halves of the corpus at no extra cost, summed for the whole.
    """

    TOTALS = ("over_zero", "sums", "sums_sq")

    def __init__(
        self, layers: int, width: int, histograms: bool, keep_units: bool = False, hidden: int = 0
    ) -> None:
        self.number = 0
        self.skip = 0
        self.positions = 0
        self.width = width
        self.hidden = hidden  # of the residual stream, for the residual sums
        self.histograms = histograms
        self.keep_units = keep_units
        self.tokens = [0, 0]
        #: per layer, each batch's unit means [units, neurons] on the layer's device, in
        #: window order (moved to the CPU once, by :meth:`unit_means`, not per batch)
        self.units: list[list[torch.Tensor]] = [[] for _ in range(layers)]
        #: the half of each unit's window, in the same order
        self.unit_halves: list[int] = []
        self.scratch: dict[torch.device, torch.Tensor] = {}
        self.totals: dict[str, tuple[list[Any], list[Any]]] = {
            name: ([None] * layers, [None] * layers) for name in (*self.TOTALS, "bins", "residual")
        }

    def hook(self, layer: int) -> Any:
        """The forward hook that adds layer ``layer``'s activations to each half's totals."""

        def record(module: Any, inputs: Any, output: torch.Tensor) -> None:
            # [batch, positions, neurons]; some families flatten the first two axes
            rows = output.reshape(-1, self.positions, self.width)[:, self.skip :, :]
            self._add(layer, rows)

        return record

    def residual_hook(self, layer: int) -> Any:
        """The forward hook that adds decoder layer ``layer``'s output to each half's residual sums."""

        def record(module: Any, inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            sums = hidden[:, self.skip :, :].float().sum(1)  # [windows, hidden]
            for half in (0, 1):
                first = (half - self.number) % 2
                if first < sums.shape[0]:
                    self._running("residual", half, layer, sums[first::2].sum(0).double())

        return record

    def _running(self, name: str, half: int, layer: int, value: torch.Tensor) -> None:
        """Add ``value`` to one half's running total ``name`` of layer ``layer``."""
        running = self.totals[name][half]
        running[layer] = value if running[layer] is None else running[layer] + value

    def _add(self, layer: int, rows: torch.Tensor) -> None:
        """Add the activations ``rows`` [windows, positions, neurons] to layer ``layer``'s halves.

        Reduced over positions window by window, in float32, through one scratch
        tensor: the positive flags, then the activations, then their squares in
        place. Each half then sums its windows' float32 totals, and the running
        totals are float64 (a batch holds too few tokens to lose precision in
        float32). Fresh float32 copies per layer, boolean flags and sums over two
        axes per half cost about twice as much on CPU (gemma-3-270m: 2.6 ms against
        1.5 a layer per 1,020 tokens).
        """
        import torch

        act = self._scratch(rows)
        over_zero = torch.gt(rows, 0, out=act).sum(1).long()
        sums = act.copy_(rows).sum(1)
        if self.keep_units:
            self.units[layer].append(self._unit_means(act).reshape(-1, self.width))
        sums_sq = act.square_().sum(1)
        for half in (0, 1):
            first = (half - self.number) % 2  # rows r with (number + r) % 2 == half
            if first >= rows.shape[0]:
                continue
            totals = {
                "over_zero": over_zero[first::2].sum(0),
                "sums": sums[first::2].sum(0).double(),
                "sums_sq": sums_sq[first::2].sum(0).double(),
            }
            if self.histograms:
                totals["bins"] = _bin_counts(rows[first::2].reshape(-1, self.width).float())
            for name, value in totals.items():
                self._running(name, half, layer, value)

    @staticmethod
    def _unit_means(act: torch.Tensor) -> torch.Tensor:
        """Mean activation of each unit of ``UNIT_TOKENS`` positions, [windows, units, neurons]."""
        windows, positions, width = act.shape
        units = positions // UNIT_TOKENS
        kept = act[:, : units * UNIT_TOKENS]
        return kept.reshape(windows, units, UNIT_TOKENS, width).mean(2)

    def unit_means(self) -> torch.Tensor:
        """Every unit's mean activation, [units, layers, neurons] float32."""
        import torch

        per_layer = [
            torch.cat([torch.zeros(0, self.width), *(r.cpu() for r in rows)]) for rows in self.units
        ]
        return torch.stack(per_layer, dim=1)

    def _scratch(self, like: torch.Tensor) -> torch.Tensor:
        """A float32 tensor shaped as ``like`` on its device, reused while shapes stay the same.

        On CPU a fresh tensor of megabytes costs page faults on every write to it.
        """
        import torch

        found = self.scratch.get(like.device)
        if found is None or found.shape != like.shape:
            found = torch.empty(like.shape, dtype=torch.float32, device=like.device)
            self.scratch[like.device] = found
        return found

    def stacked(self, name: str, half: int) -> torch.Tensor:
        """One half's totals of every layer, on the CPU, [layers, ...] (zeros for a layer never seen)."""
        import torch

        sizes = {"bins": self.width * HISTOGRAM_BINS, "residual": self.hidden}
        dtype = torch.float64 if name in ("sums", "sums_sq", "residual") else torch.int64
        empty = torch.zeros(sizes.get(name, self.width), dtype=dtype)
        return torch.stack([empty if v is None else v.cpu() for v in self.totals[name][half]])


def _bin_counts(act: torch.Tensor) -> torch.Tensor:
    """Counts per (neuron, bin) of ``act`` [tokens, neurons], flattened to [neurons * bins]."""
    import torch

    edges = torch.tensor(HISTOGRAM_EDGES, device=act.device)
    bins = (torch.bucketize(act, edges) + 1).masked_fill_(act <= 0, 0)
    offsets = torch.arange(act.shape[1], device=act.device) * HISTOGRAM_BINS
    return torch.bincount((bins + offsets).flatten(), minlength=act.shape[1] * HISTOGRAM_BINS)
