"""LAPE, language activation probability entropy (Tang et al., ACL 2024).

Reproduces ``identify.py`` of RUCAIBox/Language-Specific-Neurons@fdeca23 (the
``activation()`` function, lines 15-63; constants on lines 16-18) operation for
operation, in the same dtypes and memory layout, so that thresholds and ``topk``
tie-breaking match:

1. ``p = over_zero / n`` (line 19): activation probability per layer x neuron x
   language (integer tensors divided, giving float32, as in the reference).
2. Normalise ``p`` over languages, NaN -> 0, and take its entropy (lines 20-23).
3. ``filter_rate`` (lines 30-35): the ``kthvalue`` of *all* probabilities at rank
   ``round(numel * filter_rate)`` (Python's round); a neuron with no language
   above it gets entropy +inf.
4. ``top_rate`` (lines 37-41): the ``round(numel(entropy) * top_rate)``
   lowest-entropy neurons (``topk(largest=False)``).
5. ``activation_bar_ratio`` (lines 47-50): a selected neuron belongs to *every*
   language whose probability exceeds the ``kthvalue`` of all probabilities at
   that rank.

Deliberate difference: the reference splits its result with
``torch.bincount(lang)`` (line 54), which drops trailing languages that got no
neuron, so its list can be shorter than the language list; here every language
is present, with an empty set when it got no neuron.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.errors import FormatError
from langneurons.neurons.identification import Identified, MethodParams, Selection, register

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats


class LapeParams(MethodParams):
    """Parameters of ``lape``; the defaults are the reference's constants (lines 16-18)."""

    top_rate: float = Field(0.01, description="share of all neurons kept by lowest entropy")
    filter_rate: float = Field(
        0.95,
        description="quantile of all probabilities a neuron must exceed in at least one "
        "language to be eligible",
    )
    activation_bar_ratio: float = Field(
        0.95,
        description="quantile of all probabilities a neuron must exceed in a language to be "
        "assigned to it",
    )


def select(stats: ActivationStats, params: LapeParams) -> Identified:
    """Select language-specific neurons by LAPE.

    Args:
        stats: ``over_zero`` [K, layers, neurons] and ``tokens`` [K] are used.
        params: the thresholds of steps 3 to 5.

    Returns:
        language -> layer -> sorted neuron indices, and no resolved parameters.

    Raises:
        FormatError: the statistics produce NaN entropies (a language with no tokens).
    """
    import torch

    over_zero = stats.over_zero.permute(1, 2, 0).contiguous()  # layers x neurons x K
    n = stats.tokens
    activation_probs = over_zero / n
    normed = activation_probs / activation_probs.sum(dim=-1, keepdim=True)
    normed[torch.isnan(normed)] = 0
    log_probs = torch.where(normed > 0, normed.log(), 0)
    entropy = -torch.sum(normed * log_probs, dim=-1)
    if torch.isnan(entropy).sum():
        raise FormatError("LAPE: entropy is NaN; does every language have tokens?")

    flattened_probs = activation_probs.flatten()
    top_prob_value = flattened_probs.kthvalue(
        round(len(flattened_probs) * params.filter_rate)
    ).values
    top_position = (activation_probs > top_prob_value.item()).sum(dim=-1)
    entropy[top_position == 0] = torch.inf

    flattened_entropy = entropy.flatten()
    keep = round(len(flattened_entropy) * params.top_rate)
    _, index = flattened_entropy.topk(keep, largest=False)
    row_index = index // entropy.size(1)
    col_index = index % entropy.size(1)
    selected_probs = activation_probs[row_index, col_index].transpose(0, 1)  # K x keep
    activation_bar = flattened_probs.kthvalue(
        round(len(flattened_probs) * params.activation_bar_ratio)
    ).values.item()

    selection: Selection = {}
    for k, lang in enumerate(stats.languages):
        chosen = torch.where(selected_probs[k] > activation_bar)[0]
        layers: dict[int, list[int]] = {}
        for layer, neuron in sorted(
            zip(row_index[chosen].tolist(), col_index[chosen].tolist(), strict=True)
        ):
            layers.setdefault(layer, []).append(neuron)
        selection[lang] = {layer: tuple(neurons) for layer, neurons in layers.items()}
    return selection, {}


register(
    "lape",
    LapeParams,
    select,
    reference="Tang et al. 2024; RUCAIBox/Language-Specific-Neurons@fdeca23 identify.py",
)
