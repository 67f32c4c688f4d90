"""The values steering sets neurons to, taken from a language's activation statistics.

A value is written ``[F*]STAT``: ``mean`` (the language's mean activation of each
neuron over its identification text, the default, as in Tang et al. 2024's
steering), ``2*mean`` (a multiple), ``p95`` (the 95th percentile of the neuron's
activations on that text; needs statistics collected with histograms),
``1.5*p90``, or ``unit_p50`` (the median over the language's units of
``UNIT_TOKENS`` tokens of the neuron's mean activation: the ``on_p50`` that Kojima
et al. 2024 force their neurons to, interpolated as NumPy's ``percentile``; needs
statistics with unit means).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langneurons.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from langneurons.neurons.statistics import ActivationStats

VALUE_PATTERN = r"^(?:(\d+(?:\.\d+)?)\*)?(mean|(?:unit_)?p\d{1,2}(?:\.\d+)?)$"


@dataclass(frozen=True)
class SteeringValue:
    """A parsed value: a statistic and a factor."""

    statistic: str
    factor: float = 1.0

    @classmethod
    def parse(cls, text: str) -> SteeringValue:
        """Read ``mean``, ``2*mean``, ``p95``, ``1.5*p90`` or ``unit_p50``.

        Raises:
            ConfigError: any other text.
        """
        match = re.match(VALUE_PATTERN, text.strip())
        if not match:
            raise ConfigError(
                f"steering value {text!r}: write mean, 2*mean, p95, 1.5*p90 or unit_p50"
            )
        factor, statistic = match.groups()
        return cls(statistic, float(factor) if factor else 1.0)

    @property
    def percentile(self) -> float | None:
        """The percentile (0-100) of a ``pNN`` value, else None."""
        return float(self.statistic[1:]) if self.statistic.startswith("p") else None

    @property
    def unit_percentile(self) -> float | None:
        """The percentile (0-100) of a ``unit_pNN`` value, else None."""
        prefix = "unit_p"
        return float(self.statistic[len(prefix) :]) if self.statistic.startswith(prefix) else None


def steering_values(
    stats: ActivationStats,
    neurons: Mapping[int, Sequence[int]],
    language: str,
    value: SteeringValue,
) -> dict[int, list[float]]:
    """Return layer -> the value of each neuron of ``neurons[layer]`` for ``language``.

    Raises:
        ConfigError: the statistics lack the language.
        FormatError: the statistics lack what the value needs (sums, histograms).
    """
    if language not in stats.languages:
        raise ConfigError(
            f"the statistics have no '{language}' (they have {', '.join(stats.languages)})"
        )
    if value.unit_percentile is not None:
        units = stats.language_units(language)
        if units.shape[0] == 0:
            raise ConfigError(f"unit value: no unit of '{language}' text in the statistics")
        per_neuron = percentile(units, value.unit_percentile)
    elif value.percentile is not None:
        per_neuron = stats.quantile(value.percentile, language)
    else:
        per_neuron = stats.mean()[stats.languages.index(language)]
    return {
        layer: [float(per_neuron[layer, n]) * value.factor for n in idx]
        for layer, idx in neurons.items()
        if idx
    }


def percentile(values: torch.Tensor, percent: float) -> torch.Tensor:
    """NumPy's ``percentile`` (linear interpolation) of ``values`` over its first axis, float64.

    ``torch.quantile`` refuses inputs of more than 16M values; a sort does not.
    """
    import torch

    ranked = values.double().sort(dim=0).values
    position = percent / 100 * (ranked.shape[0] - 1)
    low = int(position)
    high = min(low + 1, ranked.shape[0] - 1)
    result: torch.Tensor = torch.lerp(ranked[low], ranked[high], position - low)
    return result
