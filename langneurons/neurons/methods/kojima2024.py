"""Kojima et al. 2024: neurons whose activation best tells a language's text from the others'.

Reproduces the expert ranking of kojima-takeshi188/lang_neuron@5ce59ec:

1. Per unit of text, the mean activation over its tokens (their sentences,
   ``selfcond/responses.py`` lines 68-74, mean-pooled in ``models.py`` line 609).
2. Per neuron and language, the average precision of that mean as a score of the
   language's units (positive) against every other language's (negative),
   sklearn's ``average_precision_score(labels, activation)``
   (``selfcond/expertise.py`` lines 97-98).
3. The ``top_k`` neurons of highest AP and the ``bottom_k`` of lowest, over all
   layers together (``scripts/make_limited_expert.py`` lines 18-29, with
   ``num_units`` = 2000 split in halves in ``main_prod_env.sh``: 1000 and 1000).

The AP is exact, computed from every unit's mean as the statistics keep them
(:attr:`~langneurons.neurons.statistics.ActivationStats.unit_means`), with
sklearn's handling of ties (tied scores are one threshold). Binning the means
instead, to keep memory constant, changed too much of the selection (docs/methods.md).
Ties in AP are broken by layer, then neuron.

Deliberate differences, documented in docs/methods.md:

- the site is the MLP activation, as for every method here; the reference ranks
  the outputs of every linear layer (attention projections too);
- units are ``UNIT_TOKENS`` consecutive tokens of the identification windows, read
  in context, without the BOS position; the reference runs each sentence alone and
  averages over its tokens with the BOS;
- a neuron in both the top and the bottom (only when ``top_k + bottom_k`` exceeds
  the model's neurons) is listed once; the reference would list it twice.

The reference forces the chosen units to their median over the language's
sentences (``on_p50``, ``expertise.py`` lines 197-199); the steering task's value
``unit_p50`` is that median, read from the same histograms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.errors import ConfigError, FormatError
from langneurons.neurons.identification import Identified, MethodParams, Selection, register
from langneurons.neurons.statistics import UNIT_TOKENS

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.statistics import ActivationStats


class Kojima2024Params(MethodParams):
    """Parameters of ``kojima2024``; the defaults are the reference's (``num_units`` 2000)."""

    top_k: int = Field(1000, ge=0, description="neurons of highest average precision kept")
    bottom_k: int = Field(1000, ge=0, description="neurons of lowest average precision kept")


def average_precision(stats: ActivationStats) -> torch.Tensor:
    """Per language, layer and neuron, the AP of the unit means as a score of that language.

    Returns:
        [K, layers, neurons] float64.

    Raises:
        FormatError: the statistics have no unit means.
        ConfigError: fewer than two languages, or a language without a unit.
    """
    import torch

    if stats.unit_means is None or stats.unit_languages is None:
        raise FormatError(
            "kojima2024 needs statistics with unit means; collect them with langneurons "
            "(identify --method kojima2024, or --neurons kojima2024 in a run)"
        )
    if len(stats.languages) < 2:
        raise ConfigError(
            "kojima2024 ranks a language's text against the others': give two or more"
        )
    per_language = torch.bincount(stats.unit_languages, minlength=len(stats.languages))
    empty = [lang for lang, n in zip(stats.languages, per_language.tolist(), strict=True) if n == 0]
    if empty:
        raise ConfigError(
            f"kojima2024: no unit of {UNIT_TOKENS} tokens of '{empty[0]}' text; give it more "
            "identification text"
        )
    units, layers, width = stats.unit_means.shape
    flat = stats.unit_means.reshape(units, layers * width)
    found = torch.empty(len(stats.languages), layers * width, dtype=torch.float64)
    for start in range(0, layers * width, _COLUMNS):
        columns = slice(start, start + _COLUMNS)
        found[:, columns] = _exact_ap(flat[:, columns], stats.unit_languages, len(stats.languages))
    return found.reshape(len(stats.languages), layers, width)


#: neurons ranked at once: bounds the sort's memory (units x columns x 8 bytes, a few times)
_COLUMNS = 4096


def _exact_ap(values: torch.Tensor, owner: torch.Tensor, languages: int) -> torch.Tensor:
    """Sklearn's AP per language k of ``values`` [units, neurons] as scores of ``owner == k``.

    One sort serves every language: from the highest value down, a positive unit
    at rank r adds the precision at the end of its tie group, hits(end) / end.
    """
    import torch

    order = values.argsort(dim=0, descending=True, stable=True)
    ranked = values.gather(0, order)
    count = ranked.shape[0]
    index = torch.arange(count).unsqueeze(1).expand_as(ranked)
    last = torch.ones_like(ranked, dtype=torch.bool)
    last[:-1] = ranked[:-1] != ranked[1:]
    # each position's tie group ends at the first group end at or after it
    ends = torch.where(last, index, count).flip(0).cummin(0).values.flip(0)
    owners = owner[order]  # each ranked position's language
    found = []
    for k in range(languages):
        labels = (owners == k).double()
        precision = labels.cumsum(0).gather(0, ends) / (ends + 1).double()
        found.append((labels * precision).sum(0) / labels.sum(0))
    return torch.stack(found)


def select(stats: ActivationStats, params: Kojima2024Params) -> Identified:
    """Per language, the ``top_k`` neurons of highest AP and the ``bottom_k`` of lowest."""
    return by_rank(average_precision(stats), stats.languages, params), {}


def by_rank(ap: torch.Tensor, languages: Sequence[str], params: Kojima2024Params) -> Selection:
    """The selection of step 3 from AP scores [K, layers, neurons] (the first on ties)."""
    import torch

    width = ap.shape[-1]
    selection: Selection = {}
    for k, lang in enumerate(languages):
        flat = ap[k].flatten()
        highest = torch.sort(flat, descending=True, stable=True).indices[: params.top_k]
        lowest = torch.sort(flat, stable=True).indices[: params.bottom_k]
        chosen: dict[int, list[int]] = {}
        for index in sorted(set(highest.tolist()) | set(lowest.tolist())):
            chosen.setdefault(index // width, []).append(index % width)
        selection[lang] = {layer: tuple(neurons) for layer, neurons in chosen.items()}
    return selection


register(
    "kojima2024",
    Kojima2024Params,
    select,
    reference="Kojima et al. 2024 (NAACL), kojima-takeshi188/lang_neuron@5ce59ec",
    unit_means=True,
)
