"""Identification methods: pure functions from activation statistics to a neuron set.

A method gets statistics and explicit parameters, never a model, a file or the
global RNG, so every method runs on the same statistics in milliseconds and is
tested on synthetic ones. Methods register by name in ``METHODS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langneurons.errors import ConfigError
from langneurons.registry import Registry

if TYPE_CHECKING:
    from langneurons.neuron_set import Layers, NeuronSet
    from langneurons.statistics import ActivationStats

Selection = dict[str, "Layers"]


@dataclass(frozen=True)
class Method:
    """A registered identification method.

    Attributes:
        name: registry name, recorded in neuron sets.
        select: ``(stats, **params) -> language -> layer -> indices``.
        defaults: every parameter with its default value.
        reference: the paper and reference implementation it reproduces.
    """

    name: str
    select: Callable[..., Selection]
    defaults: dict[str, Any]
    reference: str


METHODS: Registry[Method] = Registry("method")


def method(name: str) -> Method:
    """Return the registered method ``name`` (raises ConfigError when unknown)."""
    import langneurons.methods  # noqa: F401  (registers the methods)

    return METHODS.get(name)


def identify(name: str, stats: ActivationStats, params: dict[str, Any] | None = None) -> NeuronSet:
    """Identify a neuron set with method ``name`` on ``stats``.

    Raises:
        ConfigError: unknown method or parameter.
    """
    from langneurons.neuron_set import from_lists

    chosen = method(name)
    given = dict(params or {})
    unknown = sorted(set(given) - set(chosen.defaults))
    if unknown:
        raise ConfigError(
            f"method '{name}' has no parameter '{unknown[0]}' "
            f"(parameters: {', '.join(chosen.defaults)})"
        )
    full = {**chosen.defaults, **given}
    selection = chosen.select(stats, **full)
    layers = stats.over_zero.shape[1]
    per_language = {
        lang: [list(selection[lang].get(i, ())) for i in range(layers)] for lang in stats.languages
    }
    provenance = stats.provenance
    return from_lists(
        per_language,
        model=provenance["model"],
        site=provenance["site"],
        method={"name": name, "params": full},
        statistics={
            "corpus": provenance.get("corpus"),
            "sha256": provenance.get("corpus_sha256"),
            "tokens": dict(zip(stats.languages, stats.tokens.tolist(), strict=True)),
        },
    )
