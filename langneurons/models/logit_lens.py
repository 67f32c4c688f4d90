"""The logit lens: decode the residual stream after every layer as if it were the last.

``last_position_states`` runs a batch and keeps, per decoder layer, the output at
the last position only (prompts are left-padded, so that is every row's next-token
position); ``decode`` applies the model's own final norm, unembedding and logit
soft-capping to such a state. At the last layer this is exactly the model's
output, which the tests check for every supported family.

``readout`` reduces the same logits without holding them: it decodes the
vocabulary a slice of the unembedding at a time and keeps per row only what the
tasks read (log-sum-exp, the logits of chosen tokens, top-1 and entropy). A
262k-token vocabulary would otherwise take a float32 copy of 1 MB per row, and
the passes over it (softmax, gathers, entropy) cost more than the product;
``final_states`` gives the states the model's own head reads, with the head run on
no position, for perplexities scored the same way.

:class:`TokenEnergy` measures how much of a state lies along the unembedding's
token directions, the paper's third curve beside the probabilities and entropy.

Reference: Wendler et al. 2024, ``llamawrapper.py`` (``latents_all_layers`` and
``load_unemb_only``: the outputs of all decoder layers, then ``norm`` and
``lm_head``), in github.com/epfl-dlab/llm-latent-language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langneurons.errors import UnsupportedModelError
from langneurons.models.architecture import Architecture, decoder_layers, output_head
from langneurons.models.hooks import attached

if TYPE_CHECKING:
    import torch
    from torch import nn

    from langneurons.models.handle import ModelHandle


def last_position_states(
    model: nn.Module,
    architecture: Architecture,
    inputs: Mapping[str, torch.Tensor],
    layers: Sequence[int],
) -> torch.Tensor:
    """Residual stream after each of ``layers`` at the last position: [batch, layers, hidden].

    ``inputs`` are the tokenizer's output for left-padded prompts.
    """
    import torch

    modules = decoder_layers(model, architecture)
    kept: dict[int, torch.Tensor] = {}

    def recorder(layer: int) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            kept[layer] = hidden[:, -1, :].detach()

        return hook

    with attached([(modules[i], recorder(i)) for i in layers]), torch.inference_mode():
        model(**inputs, logits_to_keep=_no_position())
    return torch.stack([kept[i] for i in layers], dim=1)


def final_states(
    model: nn.Module, architecture: Architecture, inputs: Mapping[str, Any]
) -> torch.Tensor:
    """The final norm's output at every position, [batch, positions, hidden]: what the head reads.

    The model runs as a whole (hooks and pre-hooks on it apply), with its own head
    on no position; :func:`readout` with ``normed=True`` decodes the result.
    """
    import torch

    norm, _ = output_head(model, architecture)
    kept: list[torch.Tensor] = []

    def hook(module: Any, args: Any, output: torch.Tensor) -> None:
        kept.append(output)

    with attached([(norm, hook)]), torch.inference_mode():
        model(**inputs, logits_to_keep=_no_position())
    return kept[-1]


def _no_position() -> torch.Tensor:
    """``logits_to_keep`` that keeps no position: the head's product has no rows."""
    import torch

    return torch.zeros(0, dtype=torch.long)


def state_batches(
    handle: ModelHandle, texts: Sequence[str], layers: Sequence[int], batch_size: int
) -> Iterator[torch.Tensor]:
    """:func:`last_position_states` of ``texts``, left-padded ``batch_size`` at a time."""
    for start in range(0, len(texts), batch_size):
        inputs = handle.tokenizer(
            list(texts[start : start + batch_size]),
            return_tensors="pt",
            padding=True,
            padding_side="left",
        ).to(handle.model.device)
        yield last_position_states(handle.model, handle.architecture, inputs, layers)


def decode(model: nn.Module, architecture: Architecture, states: torch.Tensor) -> torch.Tensor:
    """Logits the model would give if ``states`` [..., hidden] came out of its last layer."""
    import torch

    norm, unembed = output_head(model, architecture)
    with torch.inference_mode():
        logits: torch.Tensor = _capped(unembed(norm(states)).float(), _softcap(model, architecture))
    return logits


def _softcap(model: nn.Module, architecture: Architecture) -> float | None:
    name = architecture.logit_softcap
    cap = getattr(model.config, name, None) if name else None
    return float(cap) if cap else None


def _capped(logits: torch.Tensor, cap: float | None) -> torch.Tensor:
    """``tanh(logits / cap) * cap`` in place, in float32 (Gemma 2 and 3's final soft-capping)."""
    return logits.div_(cap).tanh_().mul_(cap) if cap else logits


#: float32 logits per product of :func:`readout` (rows x vocabulary slice): small
#: enough to stay in cache for the passes that reduce it, big enough for the product
_BLOCK_BYTES = 16 * 2**20
#: rows per product at most; more rows would narrow the vocabulary slices
_ROWS = 1024
#: logits more than this below a row's maximum count as this far below: exp(-80) is
#: 1.8e-35 of the largest term, far below float32 resolution of a sum that is at
#: least 1, and it keeps exp from subnormal results, which cost x86 CPUs about 100x
#: (gemma-3-270m on CPU: exp of a slice of 288 x 14,336 logits took 30 ms without it, 0.4 ms with it)
_FLOOR = -80.0


@dataclass(frozen=True)
class Readout:
    """Per row, what :func:`readout` keeps of the logits.

    Attributes:
        logsumexp: log of the softmax's normaliser, [rows] float64.
        chosen: the logits of the chosen ids, [rows, chosen] float32.
        top: the most probable token (the first on ties), [rows]; None unless asked.
        entropy: entropy of the softmax in nats, [rows] float64; None unless asked.
    """

    logsumexp: torch.Tensor
    chosen: torch.Tensor
    top: torch.Tensor | None = None
    entropy: torch.Tensor | None = None


def readout(
    model: nn.Module,
    architecture: Architecture,
    states: torch.Tensor,
    chosen: torch.Tensor,
    normed: bool = False,
    top_and_entropy: bool = False,
) -> Readout:
    """Reduce the logits of ``states`` [rows, hidden] (as :func:`decode` gives them) row by row.

    The vocabulary is decoded in slices of the unembedding, each reduced while it
    is in cache: per slice its maximum, the sum of ``exp(z - max)`` (and, for the
    entropy, of ``exp(z - max) * (z - max)``) and the logits at ``chosen``; the
    slices combine in float64 at the end. Logits are float32 and soft-capped as
    :func:`decode` makes them, so log-probabilities agree with it to float32
    rounding (terms more than ``-_FLOOR`` below a row's maximum count at the floor:
    1.8e-35 of the largest, nothing a float32 sum can hold).

    Args:
        model: the model.
        architecture: its adapter.
        states: residual-stream states, or final-norm outputs when ``normed``.
        chosen: token ids whose logits to keep, [rows, chosen] (any in-range ids).
        normed: ``states`` are already the final norm's output (:func:`final_states`).
        top_and_entropy: also find the top-1 token and the entropy.

    Raises:
        UnsupportedModelError: the unembedding is not a linear layer.
    """
    import torch

    norm, unembed = output_head(model, architecture)
    if not isinstance(unembed, torch.nn.Linear):
        raise UnsupportedModelError(
            f"{type(model).__name__}: the logit readout needs a linear unembedding, "
            f"not {type(unembed).__name__}"
        )
    cap = _softcap(model, architecture)
    with torch.inference_mode():
        hidden = states if normed else norm(states)
        return _reduce(hidden, chosen.to(hidden.device), unembed, cap, top_and_entropy)


def _reduce(
    hidden: torch.Tensor,
    chosen: torch.Tensor,
    unembed: torch.nn.Linear,
    cap: float | None,
    top_and_entropy: bool,
) -> Readout:
    """:func:`readout` of final-norm outputs: per vocabulary slice, per ``_ROWS`` rows.

    Every pass writes into buffers allocated once: on CPU, a fresh tensor of
    megabytes per pass costs more in page faults than the pass itself.
    """
    import torch

    rows, vocabulary = hidden.shape[0], unembed.weight.shape[0]
    step = min(rows, _ROWS) or 1
    width = max(256, _BLOCK_BYTES // (4 * step) // 256 * 256)
    firsts = range(0, vocabulary, width)
    # per slice and row: maximum, sum of exp(z - max), sum of exp(z - max) * (z - max), argmax
    peaks = torch.zeros(len(firsts), rows, dtype=torch.float64, device=hidden.device)
    sums, weighted = torch.zeros_like(peaks), torch.zeros_like(peaks)
    tops = torch.zeros(len(firsts), rows, dtype=torch.long, device=hidden.device)
    picked = torch.zeros(chosen.shape, device=hidden.device)
    size = step * min(width, vocabulary)
    products = torch.empty(size, dtype=hidden.dtype, device=hidden.device)
    logits = torch.empty(size, device=hidden.device)
    exps = torch.empty(size if top_and_entropy else 0, device=hidden.device)
    for k, first in enumerate(firsts):
        last = min(first + width, vocabulary)
        weight = unembed.weight[first:last].t()
        inside = (chosen >= first) & (chosen < last)
        at = (chosen - first).clamp(0, last - first - 1)
        for start in range(0, rows, step):
            r = slice(start, start + step)
            x = hidden[r]
            shape = (x.shape[0], last - first)
            product = products[: shape[0] * shape[1]].view(shape)
            if unembed.bias is None:
                torch.mm(x, weight, out=product)
            else:
                torch.addmm(unembed.bias[first:last], x, weight, out=product)
            z = _capped(logits[: product.numel()].view(shape).copy_(product), cap)
            picked[r] = torch.where(inside[r], z.gather(1, at[r]), picked[r])
            if top_and_entropy:
                peak, where = z.max(-1)
                tops[k, r] = where + first
            else:
                peak = z.amax(-1)
            peaks[k, r] = peak
            shifted = z.sub_(peak.unsqueeze(1)).clamp_min_(_FLOOR)
            if top_and_entropy:
                e = torch.exp(shifted, out=exps[: z.numel()].view(shape))
                sums[k, r] = e.sum(-1)
                weighted[k, r] = e.mul_(shifted).sum(-1)
            else:
                sums[k, r] = shifted.exp_().sum(-1)
    best = peaks.amax(0)
    scale = (peaks - best).exp()
    total = (scale * sums).sum(0)
    logsumexp = best + total.log()
    if not top_and_entropy:
        return Readout(logsumexp, picked)
    # sum over the vocabulary of exp(z - best) * (z - best), from each slice's terms
    moments = (scale * (weighted + (peaks - best) * sums)).sum(0)
    top = tops.gather(0, peaks.argmax(0, keepdim=True)).squeeze(0)
    return Readout(logsumexp, picked, top, total.log() - moments / total)


@dataclass(frozen=True)
class TokenEnergy:
    """Token energy of residual-stream states (Wendler et al. 2024).

    ``Translation.ipynb`` of github.com/epfl-dlab/llm-latent-language (commit
    d0e4f29, source lines 171-184 and 581-601): with ``U_n`` the unembedding's
    rows, scaled per hidden dimension by the final norm's weight and L2-normalised,
    the energy of a state ``h`` is ``sqrt(mean_t (U_n[t] . h/|h|)^2) / avgUU``
    over the ``V`` tokens ``t``, where ``avgUU = sqrt(sum((U_n^T U_n)^2)) / V`` is
    the root mean square of ``U_n[s] . U_n[t]`` over all pairs of tokens: a state
    along a token's own direction has energy 1 on average (in squares). With
    ``G = U_n^T U_n`` that is ``sqrt(V h^T G h) / (|h| |G|_F)``, so a state costs
    a ``hidden x hidden`` product instead of one with the whole vocabulary, and
    ``G`` is built once per model.

    Differences from the notebook, which studied Llama-2 (RMSNorm) only: the scale
    is ``weight + norm_offset`` (Gemma's RMSNorm multiplies by ``1 + weight``);
    for LayerNorm families (GPT-2, OPT, BLOOM, Falcon, GPT-NeoX, XGLM) the LayerNorm
    weight is folded in as the scale, and its centring and bias are left out, as
    is any bias of the unembedding. Rows that are all zero (a padding token's
    embedding, tied to the unembedding) have no direction: the notebook would
    divide by zero and give NaN; here they are left out, of ``V`` too.

    Attributes:
        gram: ``U_n^T U_n``, [hidden, hidden] float64 on the CPU.
        vocabulary: ``V``, the unembedding's rows that are not all zero.
    """

    gram: torch.Tensor
    vocabulary: int

    @classmethod
    def of(cls, model: nn.Module, architecture: Architecture) -> TokenEnergy:
        """Build ``G`` from the model's unembedding and final-norm scale.

        Rows are normalised in float32 a slice at a time, and their products
        summed in float64, so that no float64 copy of the unembedding is made.

        Raises:
            UnsupportedModelError: the unembedding is not a linear layer, or the
                final norm has no weight.
        """
        import torch

        norm, unembed = output_head(model, architecture)
        weight = getattr(norm, "weight", None)
        if not isinstance(unembed, torch.nn.Linear) or not isinstance(weight, torch.Tensor):
            raise UnsupportedModelError(
                f"{type(model).__name__}: token energy needs a linear unembedding and a "
                f"final norm with a weight, not {type(unembed).__name__} and "
                f"{type(norm).__name__}"
            )
        hidden = unembed.weight.shape[1]
        scale = (weight.detach().float() + architecture.norm_offset).to(unembed.weight.device)
        step = max(1, _BLOCK_BYTES // (4 * hidden))
        gram = torch.zeros(hidden, hidden, dtype=torch.float64, device=scale.device)
        vocabulary = 0
        with torch.inference_mode():
            for first in range(0, unembed.weight.shape[0], step):
                rows = unembed.weight[first : first + step].float() * scale
                lengths = rows.norm(dim=1, keepdim=True)
                kept = lengths.squeeze(1) > 0
                rows = rows[kept] / lengths[kept]
                gram += (rows.t() @ rows).double()
                vocabulary += int(kept.sum())
        return cls(gram.cpu(), vocabulary)

    def energy(self, states: torch.Tensor) -> torch.Tensor:
        """Token energy of each row of ``states`` [rows, hidden]: [rows] float64.

        Scale invariant: a state counts only by its direction.
        """
        import torch

        unit = torch.nn.functional.normalize(states.detach().cpu().double(), dim=1)
        square = ((unit @ self.gram) * unit).sum(-1).clamp_min(0)
        energy: torch.Tensor = (self.vocabulary * square).sqrt() / torch.linalg.norm(self.gram)
        return energy
