"""Language neurons by entropy and peak activation (Zhang et al. 2025, arXiv 2505.21505).

"How does Alignment Enhance LLMs' Multilingual Capabilities? A Language Neurons
Perspective". Reproduces NJUNLP/Language-Neurons-Alignment@f3d4d76: ``analysis.py``
(``Neuron_Prob._load_and_build``, ``calc_entropy``, ``wrap_neuron``),
``identify.py`` (``ActivationAnalyzer.run``) and ``autosweep.py``
(``autosweep_lambda``), vectorised but in the reference's dtypes and order of
operations:

1. Activation probability over response tokens when prefix statistics exist:
   ``clamp(over_zero - prefix_over_zero, 0) / max(tokens - prefix_tokens, 1)``
   (float32), else ``over_zero / max(tokens, 1)``.
2. Score = normalised entropy over languages (probabilities normalised per
   neuron, uniform when all are zero, clamped at 1e-12, divided by ln K) minus
   ``lambda * max_k p / E[max]``, with ``E[max] = H_K / K`` the expected largest
   share of a uniform Dirichlet; computed in float64, stored as float32.
3. The ``round(numel * top_rate)`` lowest scores (``topk(largest=False)``); a
   selected neuron belongs to every language whose probability exceeds the
   ``kthvalue`` of all probabilities at rank ``round(numel * activation_bar_ratio)``.
4. ``lambda="auto"``: binary search on [``lambda_low``, ``lambda_high``] down to
   ``lambda_eps`` for the largest lambda with no neuron assigned to all K
   languages (the reference hard-codes K = 10; this uses the task's K).

Neurons in exactly one language's set are *language-specific*, in several
*language-related*; every other neuron is *language-agnostic*. The first two are
recorded as the categories ``specific`` and ``related``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from langneurons.errors import ConfigError
from langneurons.neurons.identification import Identified, MethodParams, Selection, register

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.statistics import ActivationStats


def activation_probabilities(stats: ActivationStats) -> torch.Tensor:
    """Return p [layers, neurons, K] float32, over response tokens when prefixes exist."""
    import torch

    columns = []
    for k in range(len(stats.languages)):
        over_zero, tokens = stats.over_zero[k], int(stats.tokens[k])
        if stats.prefix_over_zero is not None and stats.prefix_tokens is not None:
            over_zero = (over_zero - stats.prefix_over_zero[k]).clamp_min(0)
            tokens = tokens - int(stats.prefix_tokens[k])
        columns.append(over_zero.to(torch.float32) / float(max(tokens, 1)))
    return torch.stack(columns, dim=-1)


class Zhang2025Params(MethodParams):
    """Parameters of ``zhang2025``; the defaults are the reference's."""

    top_rate: float = Field(0.01, description="share of all neurons kept by lowest score")
    activation_bar_ratio: float = Field(
        0.95,
        description="quantile of all probabilities a neuron must exceed in a language to be "
        "assigned to it",
    )
    xlambda: float | Literal["auto"] = Field(
        "auto",
        description="weight of the peak probability in the score; 'auto' searches for the "
        "largest that puts no neuron in every language (recorded as found)",
    )
    lambda_low: float = Field(0.0, description="lower end of the 'auto' search")
    lambda_high: float = Field(0.2, description="upper end of the 'auto' search")
    lambda_eps: float = Field(
        1e-3, description="the 'auto' search stops when its range is this narrow"
    )


def select(stats: ActivationStats, params: Zhang2025Params) -> Identified:
    """Select language neurons; return the selection and the lambda used.

    Raises:
        ConfigError: no lambda in the search range keeps every neuron out of some
            language.
    """
    probs = activation_probabilities(stats)
    entropy, max_act = _entropy_and_max(probs)
    bar = probs.flatten().kthvalue(round(probs.numel() * params.activation_bar_ratio)).values.item()
    keep = round(entropy.numel() * params.top_rate)
    languages = len(stats.languages)

    def run(lam: float) -> torch.Tensor:
        return _assign(probs, _score(entropy, max_act, lam, languages), keep, bar)

    if params.xlambda == "auto":
        lam = _search(run, languages, params.lambda_low, params.lambda_high, params.lambda_eps)
    else:
        lam = params.xlambda
    return _selection(run(lam), stats.languages), {"xlambda": lam}


def _entropy_and_max(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    languages = probs.shape[-1]
    total = probs.sum(dim=-1, keepdim=True)
    normed = torch.where(total > 0, probs / total, torch.full_like(probs, 1.0 / languages))
    p = normed.clamp_min(1e-12)
    p = p / p.sum(dim=-1, keepdim=True)
    entropy = -(p * (p + 1e-30).log()).sum(dim=-1)
    return entropy.double() / math.log(languages), probs.max(dim=-1).values.double()


def _score(
    entropy: torch.Tensor, max_act: torch.Tensor, lam: float, languages: int
) -> torch.Tensor:
    import torch

    norm_max = sum(1 / k for k in range(1, languages + 1)) / languages
    return (entropy - max_act * lam / norm_max).to(torch.float32)


def _assign(probs: torch.Tensor, score: torch.Tensor, keep: int, bar: float) -> torch.Tensor:
    """Return a [layers, neurons, K] bool mask of the selected neurons' languages."""
    import torch

    _, index = score.flatten().topk(keep, largest=False)
    chosen = torch.zeros(score.numel(), dtype=torch.bool)
    chosen[index] = True
    return chosen.view(score.shape)[..., None] & (probs > bar)


def _search(run: Any, languages: int, low: float, high: float, eps: float) -> float:
    """Largest lambda whose assignment puts no neuron in all languages (autosweep_lambda)."""

    def ok(lam: float) -> bool:
        return not bool((run(lam).sum(dim=-1) == languages).any())

    best = None
    if ok(low):
        best = low
    if ok(high):
        best = high
    for _ in range(64):
        if high - low <= eps:
            break
        middle = (low + high) / 2.0
        if ok(middle):
            best, low = middle, middle
        else:
            high = middle
    if best is None:
        raise ConfigError(
            f"zhang2025: no lambda in [{low}, {high}] keeps every neuron out of at least one "
            "language; widen lambda_high or pass xlambda"
        )
    return best


def _selection(mask: torch.Tensor, languages: tuple[str, ...]) -> Selection:
    import torch

    selection: Selection = {}
    for k, lang in enumerate(languages):
        layers: dict[int, tuple[int, ...]] = {}
        for layer in range(mask.shape[0]):
            neurons = torch.nonzero(mask[layer, :, k]).flatten().tolist()
            if neurons:
                layers[layer] = tuple(neurons)
        selection[lang] = layers
    return selection


register(
    "zhang2025",
    Zhang2025Params,
    select,
    reference="Zhang et al. 2025; NJUNLP/Language-Neurons-Alignment@f3d4d76",
    categories=True,
)
