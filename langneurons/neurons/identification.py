"""Identification methods: pure functions from activation statistics to a neuron or vector set.

A method gets statistics and explicit parameters, never a model, a file or the
global RNG, so every method runs on the same statistics in milliseconds and is
tested on synthetic ones. Methods register by name in ``METHODS`` through
:func:`register`, with a :class:`MethodParams` model that declares each parameter
once: its type, default and description. The model validates what a caller
passes, fills in the defaults recorded in the neuron set, and writes the help of
``langneurons identify`` (:func:`describe_methods`). A vector method
(:func:`register_vectors`) makes a vector set instead: per language and layer, a
direction in the residual stream, from the statistics' residual sums.
"""

from __future__ import annotations

import textwrap
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from langneurons.errors import ConfigError
from langneurons.registry import Registry

if TYPE_CHECKING:
    from langneurons.neurons.neuron_set import Layers, NeuronSet
    from langneurons.neurons.statistics import ActivationStats
    from langneurons.neurons.vector_set import Vectors, VectorSet

Selection = dict[str, "Layers"]
Identified = tuple[Selection, dict[str, Any]]
#: a vector method's result: language -> layer -> vector, and the recorded params
Directions = tuple[dict[str, "Vectors"], dict[str, Any]]


class MethodParams(BaseModel):
    """Base of every method's parameters: each a ``Field`` with its default and description.

    Strict, so that ``"0.1"`` is not quietly read as a number (an int still passes
    where a float is declared); no NaN or infinity (a set's recorded params are
    JSON, and no method means anything by them); frozen, so a method cannot change
    what is recorded.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


P = TypeVar("P", bound=MethodParams)


@dataclass(frozen=True)
class Method:
    """A registered identification method.

    Attributes:
        name: registry name, recorded in neuron sets.
        params: the parameters' model, the one place their defaults are declared.
        select: ``(stats, given params) -> (selection, recorded params)``: checks
            ``given`` against ``params`` (see :func:`parse_params`), then runs the
            method; the selection maps language -> layer -> indices, the recorded
            params hold every parameter, with values the method chose at run
            time (e.g. an automatic lambda) in place of the defaults.
        reference: the paper and reference implementation it reproduces.
        categories: record language-specific (one language) and
            language-related (several) neurons as categories.
        unit_means: the method reads the unit means, so the statistics pass
            keeps them.
    """

    name: str
    params: type[MethodParams]
    select: Callable[[ActivationStats, Mapping[str, object]], Identified]
    reference: str
    categories: bool = False
    unit_means: bool = False
    residual: bool = False


@dataclass(frozen=True)
class VectorMethod:
    """A registered vector method: statistics -> one residual-stream vector per language and layer.

    Attributes:
        name: registry name, recorded in vector sets.
        params: the parameters' model.
        build: ``(stats, given params) -> (vectors, recorded params)``.
        reference: the paper and reference implementation it reproduces.
        residual: always True: the statistics pass keeps the residual sums.
    """

    name: str
    params: type[MethodParams]
    build: Callable[[ActivationStats, Mapping[str, object]], Directions]
    reference: str
    categories: bool = False
    unit_means: bool = False
    residual: bool = True


METHODS: Registry[Method | VectorMethod] = Registry("method")


def register(
    name: str,
    params: type[P],
    select: Callable[[ActivationStats, P], Identified],
    reference: str,
    categories: bool = False,
    unit_means: bool = False,
) -> Method:
    """Register a method whose ``select(stats, params)`` returns its selection and resolved params.

    The method's own ``select`` gets its validated params model, so its body reads
    typed fields; the registered :attr:`Method.select` takes plain mappings, so
    callers never see the model's type.

    Args:
        name: registry name, recorded in neuron sets.
        params: the method's params model, subclassing :class:`MethodParams`.
        select: ``(stats, params) -> (selection, resolved)``: ``resolved`` holds the
            parameters whose value was chosen at run time, to record in place of the
            given ones (``{}`` when none).
        reference: the paper and reference implementation it reproduces.
        categories: record language-specific and language-related categories.
        unit_means: the method reads the unit means.

    Returns:
        The registered method.

    Raises:
        ValueError: ``name`` is taken.
    """

    def run(stats: ActivationStats, given: Mapping[str, object]) -> Identified:
        chosen = parse_params(name, params, given)
        selection, resolved = select(stats, chosen)
        return selection, {**chosen.model_dump(), **resolved}

    method = Method(name, params, run, reference, categories, unit_means)
    METHODS.add(name, method)
    return method


def register_vectors(
    name: str,
    params: type[P],
    build: Callable[[ActivationStats, P], Directions],
    reference: str,
) -> VectorMethod:
    """Register a vector method whose ``build(stats, params)`` returns its vectors and resolved params.

    Raises:
        ValueError: ``name`` is taken.
    """

    def run(stats: ActivationStats, given: Mapping[str, object]) -> Directions:
        chosen = parse_params(name, params, given)
        vectors, resolved = build(stats, chosen)
        return vectors, {**chosen.model_dump(), **resolved}

    method = VectorMethod(name, params, run, reference)
    METHODS.add(name, method)
    return method


def parse_params(name: str, params: type[P], given: Mapping[str, object]) -> P:
    """Validate ``given`` against method ``name``'s ``params``, filling in the defaults.

    Args:
        name: the method, named in the message.
        params: its params model.
        given: parameter -> value, as a caller passed them.

    Returns:
        Every parameter: the given values, defaults for the rest.

    Raises:
        ConfigError: a parameter is unknown or has the wrong type; one line naming
            the method, the parameter and the parameters it has.
    """
    try:
        return params.model_validate(dict(given))
    except ValidationError as error:
        allowed = ", ".join(params.model_fields)
        # unknown names first, then by name, so the message does not depend on dict order
        first = min(error.errors(), key=lambda e: (e["type"] != "extra_forbidden", str(e["loc"])))
        field = str(first["loc"][0])
        if first["type"] == "extra_forbidden":
            raise ConfigError(
                f"method '{name}' has no parameter '{field}' (parameters: {allowed})"
            ) from None
        expected = _type_name(params.model_fields[field].annotation)
        raise ConfigError(
            f"method '{name}': parameter '{field}' must be {expected}, got {given[field]!r} "
            f"(parameters: {allowed})"
        ) from None


def _type_name(annotation: object) -> str:
    """How help and errors write a parameter's type: ``float``, ``float | 'auto'``."""
    if isinstance(annotation, type):
        return annotation.__name__
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(repr(value) for value in get_args(annotation))
    if origin is Union or origin is types.UnionType:
        return " | ".join(_type_name(member) for member in get_args(annotation))
    return str(annotation)


def describe_methods() -> str:
    """Every registered method with its reference and parameters (default, description).

    Generated from the params models, so the help of ``langneurons identify`` can
    never disagree with what a method accepts.
    """
    import langneurons.neurons.methods  # noqa: F401  (registers the methods)

    lines = [
        "methods and their parameters (default; set one with --param NAME=VALUE,",
        "or pass params to identify(method, stats, params) in Python):",
    ]
    for name in METHODS:
        chosen = METHODS.get(name)
        lines.append(f"  {name}: {chosen.reference}")
        for field, info in chosen.params.model_fields.items():
            lines.append(f"    {field} = {info.default!r} ({_type_name(info.annotation)})")
            lines.append(
                textwrap.fill(
                    info.description or "", 88, initial_indent=" " * 8, subsequent_indent=" " * 8
                )
            )
    return "\n".join(lines)


def method(name: str) -> Method | VectorMethod:
    """Return the registered method ``name`` (raises ConfigError when unknown)."""
    import langneurons.neurons.methods  # noqa: F401  (registers the methods)

    return METHODS.get(name)


def neuron_method(name: str, what: str) -> Method:
    """Return the registered neuron method ``name``; ``what`` names the caller in the error.

    Raises:
        ConfigError: unknown, or a vector method.
    """
    chosen = method(name)
    if isinstance(chosen, VectorMethod):
        raise ConfigError(f"{what}: '{name}' makes vectors, not neurons; name a neuron method")
    return chosen


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


def jaccard(a: Mapping[int, Sequence[int]], b: Mapping[int, Sequence[int]]) -> float:
    """Jaccard index of two layer -> neurons selections (1.0 when both are empty: they agree)."""
    left = {(layer, n) for layer, idx in a.items() for n in idx}
    right = {(layer, n) for layer, idx in b.items() for n in idx}
    union = left | right
    return len(left & right) / len(union) if union else 1.0


def split_half_jaccard(
    name: str, stats: ActivationStats, params: dict[str, Any] | None = None
) -> dict[str, float] | None:
    """Per language, the overlap of the sets method ``name`` picks on the two halves of the corpus.

    The halves take alternate windows of the pass (disjoint text):
    a method that picks the same neurons on both finds a property of the
    language, not of the sample. None when the statistics have no halves
    (imported, or collected before halves were kept).
    """
    halves = stats.halves()
    if halves is None:
        return None
    chosen = neuron_method(name, "split-half overlap")
    first, second = (chosen.select(half, params or {})[0] for half in halves)
    return {lang: round(jaccard(first[lang], second[lang]), 4) for lang in stats.languages}


def identify(
    name: str, stats: ActivationStats, params: dict[str, Any] | None = None
) -> NeuronSet | VectorSet:
    """Identify a neuron set (or compute a vector set) with method ``name`` on ``stats``.

    Raises:
        ConfigError: unknown method, or a parameter it does not have or of the
            wrong type.
    """
    from langneurons.neurons.neuron_set import from_lists
    from langneurons.records import MethodRecord, ModelIdentity, StatisticsRecord, parse_record

    chosen = method(name)
    if isinstance(chosen, VectorMethod):
        return _vector_set(chosen, stats, params or {})
    selection, recorded = chosen.select(stats, params or {})
    layers = stats.over_zero.shape[1]
    per_language = {
        lang: [list(selection[lang].get(i, ())) for i in range(layers)] for lang in stats.languages
    }
    provenance = stats.provenance
    return from_lists(
        per_language,
        model=parse_record(ModelIdentity, provenance["model"], "statistics provenance: model"),
        site=provenance["site"],
        method=MethodRecord(name=name, params=recorded),
        categories=categories(selection) if chosen.categories else None,
        statistics=StatisticsRecord(
            corpus=provenance.get("corpus"),
            sha256=provenance.get("corpus_sha256"),
            tokens=dict(zip(stats.languages, stats.tokens.tolist(), strict=True)),
            split_half_jaccard=split_half_jaccard(name, stats, params),
        ),
    )


def _vector_set(chosen: VectorMethod, stats: ActivationStats, params: dict[str, Any]) -> VectorSet:
    """The vector set of ``chosen`` on ``stats``, with the split-half cosine of its vectors."""
    from langneurons.models.architecture import architecture_named
    from langneurons.neurons.vector_set import VectorSet, from_dict, to_dict
    from langneurons.records import MethodRecord, ModelIdentity, StatisticsRecord, parse_record

    vectors, recorded = chosen.build(stats, params)
    provenance = stats.provenance
    model = parse_record(ModelIdentity, provenance["model"], "statistics provenance: model")
    if stats.residual_sums is None:  # the method read them, so this cannot be
        raise ConfigError(f"method '{chosen.name}' needs statistics with residual sums")
    built = VectorSet(
        model=model,
        site=architecture_named(model.architecture or "").layer,
        hidden_size=int(stats.residual_sums.shape[-1]),
        method=MethodRecord(name=chosen.name, params=recorded),
        statistics=StatisticsRecord(
            corpus=provenance.get("corpus"),
            sha256=provenance.get("corpus_sha256"),
            tokens=dict(zip(stats.languages, stats.tokens.tolist(), strict=True)),
            split_half_cosine=split_half_cosine(chosen, stats, params),
        ),
        languages=vectors,
    )
    return from_dict(to_dict(built), f"{chosen.name} set")


def split_half_cosine(
    chosen: VectorMethod, stats: ActivationStats, params: dict[str, Any]
) -> dict[str, float] | None:
    """Per language, the mean cosine of the vectors ``chosen`` builds on the two halves, over layers.

    The vector sets' split-half stability, as :func:`split_half_jaccard` is the
    neuron sets'. None when the statistics have no halves.
    """
    import math

    halves = stats.halves()
    if halves is None or halves[0].residual_sums is None:
        return None
    first, second = (chosen.build(half, params)[0] for half in halves)
    found = {}
    for lang in stats.languages:
        cosines = []
        for layer, a in first[lang].items():
            b = second[lang][layer]
            dot = sum(x * y for x, y in zip(a, b, strict=True))
            norms = math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
            cosines.append(dot / norms if norms else 0.0)
        found[lang] = round(sum(cosines) / max(len(cosines), 1), 4)
    return found
