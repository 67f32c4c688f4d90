"""lm-evaluation-harness model ``langneurons``: lm-eval's Hugging Face model under a neuron intervention.

Every forward (``_model_call``: log-likelihoods, perplexities) and every generate
call (``_model_generate``) runs inside :func:`langneurons.models.interventions.steer`,
which zeroes some neurons and sets others to fixed values; with nothing chosen it
gives lm-eval's ``hf`` model's numbers exactly, the head run only on the positions
log-likelihoods read. Model arguments, besides those of ``hf``:

- ``pretrained``: a langneurons alias (``gemma-3-270m``), a Hugging Face id, a folder,
  or (from Python) a loaded model, with ``tokenizer=``;
- ``neurons``: a neuron set file (``langneurons.neuron_set/1``), or a vector set
  file (``langneurons.vector_set/1``) for ``ablate`` of one language;
- ``ablate``: languages whose neurons are zeroed, separated by ``+`` (``zh`` or ``zh+ja``);
  with a vector set, the language whose vectors are projected out of the residual stream;
- ``steer``: a language whose neurons are set to their activation ``value`` in
  that language at every position (Tang et al. 2024, section 5; with ``ablate``
  naming the source language, the steering task's intervention);
- ``stats``: the statistics file the values come from (``langneurons.statistics/1``
  with sums; ``langneurons identify`` prints where its statistics are cached);
- ``value``: ``mean`` (default), ``2*mean``, ``p95``...: see :mod:`langneurons.tasks.steering_values`;
- ``control_seed``: use the matched random control of the set instead (same
  per-layer counts; steered neurons still take the target's statistics).

From Python, ``lm_eval.simple_evaluate(model=InterventionLM(...), tasks=[...])``, or,
to score several conditions with one loaded model, each evaluation inside
``with lm.intervening(zero=..., steer=...):``; from the command line,
``python -m langneurons.tasks.lm_eval_model`` takes lm-eval's own arguments with
``--model langneurons`` (lm-eval 0.4 finds models only by import).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel

try:
    from lm_eval.api.registry import register_model
    from lm_eval.models.huggingface import HFLM
except ImportError as error:  # the optional extra
    raise ImportError(
        "langneurons.tasks.lm_eval_model needs lm-eval: pip install 'langneurons[downstream]'"
    ) from error

from langneurons.errors import ConfigError
from langneurons.models.architecture import architecture_for
from langneurons.models.handle import prepared, resolve_model
from langneurons.models.hooks import attached
from langneurons.models.interventions import check_indices, project_out
from langneurons.models.interventions import steer as steered
from langneurons.neurons.controls import control_draw
from langneurons.neurons.neuron_set import NeuronSet
from langneurons.neurons.sets import InterventionSet, load
from langneurons.neurons.statistics import load as load_statistics
from langneurons.neurons.vector_set import VectorSet
from langneurons.tasks.steering_values import SteeringValue, steering_values


@register_model("langneurons")
class InterventionLM(HFLM):  # type: ignore[misc]
    """lm-eval's ``hf`` model whose forward and generate calls run under an intervention.

    Attributes:
        zeroed: layer -> neurons zeroed, from the model arguments.
        activated: layer -> neurons set, from the model arguments.
        values: layer -> the values of ``activated[layer]``, in that order.
        projected: layer -> the vector projected out of the residual stream, from
            the model arguments (a vector set's ablation).
    """

    def __init__(
        self,
        pretrained: str | PreTrainedModel,
        neurons: str | None = None,
        ablate: str | None = None,
        steer: str | None = None,
        stats: str | None = None,
        value: str = "mean",
        control_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        # every argument is checked before the model loads
        found = _set_of(neurons, [*_split(ablate), *_split(steer)], control_seed)
        self.projected = _projected(found, _split(ablate), steer)
        chosen = None if isinstance(found, VectorSet) else found
        self.zeroed = _union(chosen, _split(ablate) if chosen is not None else [])
        self.activated, self.values = _steering(chosen, steer, stats, value)
        self._condition = _Condition(self.zeroed, self.activated, self.values, self.projected)
        self._starts: dict[tuple[int, ...], int] = {}
        if isinstance(pretrained, str):  # an alias, hub id or folder; a loaded model passes through
            pretrained = str(prepared(resolve_model(pretrained)).folder)
        super().__init__(pretrained=pretrained, **kwargs)
        self.architecture = architecture_for(self.model)
        self._check(self.zeroed, f"neuron set {neurons}")
        self._check(self.activated, f"neuron set {neurons}")
        with project_out(self.model, self.projected, self.architecture):
            pass  # checks the vectors against the model before any evaluation

    @contextlib.contextmanager
    def intervening(
        self,
        zero: Mapping[int, Sequence[int]] | None = None,
        steer: Mapping[int, Mapping[int, float]] | None = None,
        project: Mapping[int, Sequence[float]] | None = None,
    ) -> Iterator[None]:
        """Run the calls made inside the block under this condition, not the model arguments'.

        A context manager rather than a setter because a condition set by a setter
        outlives the evaluation it was meant for and leaks into the next one. On
        exit, normal or by an exception, the condition from before the block is
        back (the model arguments', or an enclosing block's), so consecutive and
        nested blocks each run exactly their own. Hooks stay per call either way.

        Args:
            zero: layer -> neuron indices to zero.
            steer: layer -> neuron index -> the value it is set to at every position;
                applied after zeroing, so a neuron in both takes its value.
            project: layer -> a vector whose direction is projected out of the
                residual stream after that layer (a vector set's ablation).

        Raises:
            ConfigError: a layer or neuron index is out of range, or a vector does
                not fit; checked on entry, so nothing runs under a condition the
                model cannot take.
        """
        zeroed = {layer: list(indices) for layer, indices in (zero or {}).items()}
        activated = {layer: list(chosen) for layer, chosen in (steer or {}).items()}
        values = {layer: list(chosen.values()) for layer, chosen in (steer or {}).items()}
        self._check(zeroed, "the neurons to zero")
        self._check(activated, "the neurons to steer")
        projected = {layer: list(vector) for layer, vector in (project or {}).items()}
        with project_out(self.model, projected, self.architecture):
            pass  # resolves every layer and vector now; the hooks attach per call
        outer = self._condition
        self._condition = _Condition(zeroed, activated, values, projected)
        try:
            yield
        finally:
            self._condition = outer

    def _check(self, neurons: Mapping[int, Sequence[int]], what: str) -> None:
        check_indices(
            neurons,
            self.model.config.num_hidden_layers,
            self.architecture.width(self.model.config),
            f"{what} on {self.model.name_or_path}",
        )

    @contextlib.contextmanager
    def _intervention(self) -> Iterator[None]:
        condition = self._condition
        if not condition.zeroed and not condition.activated and not condition.projected:
            yield
            return
        with (
            steered(
                self.model,
                condition.activated,
                condition.values,
                condition.zeroed,
                self.architecture,
            ),
            project_out(self.model, condition.projected, self.architecture),
        ):
            yield

    def _loglikelihood_tokens(
        self,
        requests: list[tuple[tuple[str, str], list[int], list[int]]],
        disable_tqdm: bool = False,
        override_bs: int | None = None,
    ) -> list[tuple[float, bool]]:
        """HFLM's, with ``_model_call`` told where each request's continuation starts.

        lm-eval 0.4's ``HFLM._loglikelihood_tokens`` (lm_eval/models/huggingface.py)
        takes the log-softmax of every position of the batch's logits but reads
        only the continuations'; with gemma-3's 262k-token vocabulary that pass
        cost more than the ablation. It accepts fewer positions than the input,
        counted from the end (its ``ctx_len``, there for prompt-tuning's virtual
        tokens), so ``_model_call`` keeps the positions from the batch's first
        continuation token on, found from the rows recorded here.
        """
        if self.backend == "causal":
            self._starts = _continuation_starts(requests, self.max_length)
        try:
            found: list[tuple[float, bool]] = super()._loglikelihood_tokens(
                requests, disable_tqdm, override_bs
            )
        finally:
            self._starts = {}
        return found

    def _model_call(
        self,
        inps: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """HFLM's call under the condition, with the head only on the positions read.

        The model gets ``logits_to_keep`` (the last positions) through a pre-hook,
        so HFLM's own call, autocast included, is what runs.
        """
        keep = self._kept(inps)

        def keeping(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> Any:
            return args, {**kwargs, "logits_to_keep": keep}

        with self._intervention(), attached([], [] if keep is None else [(self.model, keeping)]):
            logits: torch.Tensor = super()._model_call(inps, attn_mask, labels)
        return logits

    def _kept(self, inps: torch.Tensor) -> int | None:
        """How many last positions hold every row's continuation; None when not all rows are known.

        HFLM pads rows on the right with zeros (``pad_and_concat`` in
        lm_eval/models/utils_hf.py), so a row's own tokens are the row less some
        trailing zeros; every recorded row found that way counts, the earliest
        start winning, so a row ending in zeros of its own keeps more positions,
        never fewer. Any other call (a direct one, lm-eval's batch size search)
        keeps every position.
        """
        if not self._starts:
            return None
        width = inps.shape[1]
        first = width
        for row in inps.tolist():
            found = []
            for length in range(width, 0, -1):
                if (start := self._starts.get(tuple(row[:length]))) is not None:
                    found.append(start)
                if row[length - 1] != 0:
                    break
            if not found:
                return None
            first = min(first, *found)
        return width - first

    def _model_generate(
        self, context: torch.Tensor, max_length: int, stop: list[str], **generation_kwargs: Any
    ) -> torch.Tensor:
        with self._intervention():
            out: torch.Tensor = super()._model_generate(
                context, max_length, stop, **generation_kwargs
            )
        return out


@dataclasses.dataclass(frozen=True)
class _Condition:
    """What a call runs under: layer -> neurons to zero, neurons to set, their values, vectors."""

    zeroed: Mapping[int, Sequence[int]]
    activated: Mapping[int, Sequence[int]]
    values: Mapping[int, Sequence[float]]
    projected: Mapping[int, Sequence[float]]


def _continuation_starts(
    requests: Sequence[tuple[Any, Sequence[int], Sequence[int]]], max_length: int
) -> dict[tuple[int, ...], int]:
    """Input row -> the earliest position a continuation is scored from, for HFLM's rows.

    HFLM's row of a request: context + continuation, cut to ``max_length + 1``
    tokens from the left, last token dropped; the logits at the row's last
    ``len(continuation)`` positions score the continuation.
    """
    starts: dict[tuple[int, ...], int] = {}
    for _, context, continuation in requests:
        row = tuple([*context, *continuation][-(max_length + 1) :][:-1])
        start = len(row) - len(continuation)
        starts[row] = min(start, starts.get(row, start))
    return starts


def _split(languages: str | None) -> list[str]:
    return languages.split("+") if languages else []


def _set_of(
    neurons: str | None, languages: list[str], control_seed: int | None
) -> InterventionSet | None:
    """The set (or its control) when any language is named; every language must be in it."""
    if not languages:
        return None
    if neurons is None:
        raise ConfigError("ablate= and steer= need neurons=<neuron set file>")
    chosen = load(Path(neurons))
    if control_seed is not None:
        chosen = control_draw(chosen, int(control_seed))
    for lang in languages:
        if lang not in chosen.languages:
            raise ConfigError(
                f"neuron set {neurons} has no language '{lang}' (it has {', '.join(chosen.languages)})"
            )
    return chosen


def _projected(
    chosen: InterventionSet | None, ablate: list[str], steer: str | None
) -> dict[int, list[float]]:
    """Layer -> the vector projected out: a vector set's ``ablate`` language's (one at most)."""
    if not isinstance(chosen, VectorSet):
        return {}
    if steer is not None or len(ablate) != 1:
        raise ConfigError(
            "a vector set takes ablate=<one language> here; steer with it in the steering task"
        )
    return {layer: list(vector) for layer, vector in chosen.languages[ablate[0]].items()}


def _union(chosen: NeuronSet | None, languages: list[str]) -> dict[int, list[int]]:
    """Layer -> neurons to zero: the union over ``languages`` of the set's."""
    union: dict[int, set[int]] = {}
    for lang in languages:
        assert chosen is not None
        for layer, indices in chosen.languages[lang].items():
            union.setdefault(layer, set()).update(indices)
    return {layer: sorted(indices) for layer, indices in union.items()}


def _steering(
    chosen: NeuronSet | None, target: str | None, stats: str | None, value: str
) -> tuple[dict[int, list[int]], dict[int, list[float]]]:
    """Layer -> neurons to set, and their values in ``target`` from the statistics file."""
    if target is None:
        return {}, {}
    if "+" in target:
        raise ConfigError(f"steer={target}: name one target language")
    if stats is None:
        raise ConfigError("steer= needs stats=<statistics file> for the values to set")
    assert chosen is not None
    statistics = load_statistics(Path(stats))
    found = tuple(statistics.over_zero.shape[1:])
    if found != (chosen.num_layers, chosen.neurons_per_layer):
        raise ConfigError(
            f"statistics {stats} are for {found[0]} layers x {found[1]} neurons; the neuron "
            f"set is for {chosen.num_layers} x {chosen.neurons_per_layer}"
        )
    activated = {layer: list(indices) for layer, indices in chosen.languages[target].items()}
    values = steering_values(statistics, activated, target, SteeringValue.parse(value))
    return activated, values


if __name__ == "__main__":
    from lm_eval.__main__ import cli_evaluate

    cli_evaluate()
