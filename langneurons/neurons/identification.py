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
    from langneurons.neurons.neuron_set import Layers, NeuronSet
    from langneurons.neurons.statistics import ActivationStats

Selection = dict[str, "Layers"]
Identified = tuple[Selection, dict[str, Any]]


@dataclass(frozen=True)
class Method:
    """A registered identification method.

    Attributes:
        name: registry name, recorded in neuron sets.
        select: ``(stats, **params) -> (selection, resolved params)``; the
            selection maps language -> layer -> indices, the resolved params
            replace defaults chosen at run time (e.g. an automatic lambda).
        defaults: every parameter with its default value.
        reference: the paper and reference implementation it reproduces.
        categories: record language-specific (one language) and
            language-related (several) neurons as categories.
    """

    name: str
    select: Callable[..., Identified]
    defaults: dict[str, Any]
    reference: str
    categories: bool = False


METHODS: Registry[Method] = Registry("method")


def method(name: str) -> Method:
    """Return the registered method ``name`` (raises ConfigError when unknown)."""
    import langneurons.neurons.methods  # noqa: F401  (registers the methods)

    return METHODS.get(name)


def is_method(name: str) -> bool:
    """Whether ``name`` is a registered method (``--neurons`` prefers a method to a file)."""
    import langneurons.neurons.methods  # noqa: F401  (registers the methods)

    return name in METHODS


def categories(selection: Selection) -> dict[str, Selection]:
    """Split a selection into language-specific (one language) and language-related neurons."""
    languages_of: dict[tuple[int, int], int] = {}
    for layers in selection.values():
        for layer, neurons in layers.items():
            for neuron in neurons:
                languages_of[(layer, neuron)] = languages_of.get((layer, neuron), 0) + 1
    split: dict[str, Selection] = {"specific": {}, "related": {}}
    for lang, layers in selection.items():
        for name in split:
            kept = {
                layer: tuple(
                    n for n in neurons if (languages_of[(layer, n)] == 1) == (name == "specific")
                )
                for layer, neurons in layers.items()
            }
            split[name][lang] = {layer: idx for layer, idx in kept.items() if idx}
    return split


def identify(name: str, stats: ActivationStats, params: dict[str, Any] | None = None) -> NeuronSet:
    """Identify a neuron set with method ``name`` on ``stats``.

    Raises:
        ConfigError: unknown method or parameter.
    """
    from langneurons.neurons.neuron_set import from_lists

    chosen = method(name)
    given = dict(params or {})
    unknown = sorted(set(given) - set(chosen.defaults))
    if unknown:
        raise ConfigError(
            f"method '{name}' has no parameter '{unknown[0]}' "
            f"(parameters: {', '.join(chosen.defaults)})"
        )
    full = {**chosen.defaults, **given}
    selection, resolved = chosen.select(stats, **full)
    layers = stats.over_zero.shape[1]
    per_language = {
        lang: [list(selection[lang].get(i, ())) for i in range(layers)] for lang in stats.languages
    }
    provenance = stats.provenance
    return from_lists(
        per_language,
        model=provenance["model"],
        site=provenance["site"],
        method={"name": name, "params": {**full, **resolved}},
        categories=categories(selection) if chosen.categories else None,
        statistics={
            "corpus": provenance.get("corpus"),
            "sha256": provenance.get("corpus_sha256"),
            "tokens": dict(zip(stats.languages, stats.tokens.tolist(), strict=True)),
        },
    )
