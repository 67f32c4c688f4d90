"""The values steering sets neurons to, taken from a language's activation statistics.

A value is written ``[F*]STAT``: ``mean`` (the language's mean activation of each
neuron over its identification text, the default, as in Tang et al. 2024's
steering), ``2*mean`` (a multiple), ``p95`` (the 95th percentile of the neuron's
activations on that text; needs statistics collected with histograms) or
``1.5*p90``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langneurons.errors import ConfigError

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats

VALUE_PATTERN = r"^(?:(\d+(?:\.\d+)?)\*)?(mean|p\d{1,2}(?:\.\d+)?)$"


@dataclass(frozen=True)
class SteeringValue:
    """A parsed value: a statistic and a factor."""

    statistic: str
    factor: float = 1.0

    @classmethod
    def parse(cls, text: str) -> SteeringValue:
        """Read ``mean``, ``2*mean``, ``p95`` or ``1.5*p90``.

        Raises:
            ConfigError: any other text.
        """
        match = re.match(VALUE_PATTERN, text.strip())
        if not match:
            raise ConfigError(f"steering value {text!r}: write mean, 2*mean, p95 or 1.5*p90")
        factor, statistic = match.groups()
        return cls(statistic, float(factor) if factor else 1.0)

    @property
    def percentile(self) -> float | None:
        """The percentile (0-100) of a ``pNN`` value, else None."""
        return float(self.statistic[1:]) if self.statistic.startswith("p") else None


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
    if value.percentile is None:
        per_neuron = stats.mean()[stats.languages.index(language)]
    else:
        per_neuron = stats.quantile(value.percentile, language)
    return {
        layer: [float(per_neuron[layer, n]) * value.factor for n in idx]
        for layer, idx in neurons.items()
        if idx
    }
