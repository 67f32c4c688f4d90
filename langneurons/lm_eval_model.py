"""lm-evaluation-harness model ``langneurons``: lm-eval's Hugging Face model under a neuron intervention.

Every forward (``_model_call``: log-likelihoods, perplexities) and every generate
call (``_model_generate``) runs inside :func:`langneurons.interventions.ablate` of
the chosen neurons; with no neurons chosen it is lm-eval's ``hf`` model exactly.
Model arguments, besides those of ``hf``:

- ``pretrained``: a langneurons alias (``gemma-3-270m``), a Hugging Face id, a folder,
  or (from Python) a loaded model, with ``tokenizer=``;
- ``neurons``: a neuron set file (``langneurons.neuron_set/1``);
- ``ablate``: languages whose neurons are zeroed, separated by ``+`` (``zh`` or ``zh+ja``);
- ``control_seed``: zero the matched random control of those languages instead.

From Python, ``lm_eval.simple_evaluate(model=InterventionLM(...), tasks=[...])``;
from the command line, ``python -m langneurons.lm_eval_model`` takes lm-eval's own
arguments with ``--model langneurons`` (lm-eval 0.4 finds models only by import).
"""

from __future__ import annotations

import contextlib
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
        "langneurons.lm_eval_model needs lm-eval: pip install 'langneurons[downstream]'"
    ) from error

from langneurons.architecture import architecture_for
from langneurons.errors import ConfigError
from langneurons.interventions import ablate
from langneurons.methods.random import matched_random
from langneurons.model_handle import prepared, resolve_model
from langneurons.neuron_set import NeuronSet, load


@register_model("langneurons")
class InterventionLM(HFLM):  # type: ignore[misc]
    """lm-eval's ``hf`` model whose forward and generate calls run under an ablation."""

    def __init__(
        self,
        pretrained: str | PreTrainedModel,
        neurons: str | None = None,
        ablate: str | None = None,
        control_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        chosen = _chosen(neurons, ablate, control_seed)
        if isinstance(pretrained, str):  # an alias, hub id or folder; a loaded model passes through
            pretrained = str(prepared(resolve_model(pretrained)).folder)
        super().__init__(pretrained=pretrained, **kwargs)
        self.architecture = architecture_for(self.model)
        width = self.architecture.width(self.model.config)
        for layer, indices in chosen.items():
            if layer >= self.model.config.num_hidden_layers or max(indices) >= width:
                raise ConfigError(
                    f"neuron set {neurons} does not fit {pretrained} "
                    f"({self.model.config.num_hidden_layers} layers x {width} neurons)"
                )
        self.neurons: Mapping[int, Sequence[int]] = chosen

    @contextlib.contextmanager
    def _intervention(self) -> Iterator[None]:
        if not self.neurons:
            yield
            return
        with ablate(self.model, self.neurons, self.architecture):
            yield

    def _model_call(
        self,
        inps: torch.Tensor,
        attn_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        with self._intervention():
            logits: torch.Tensor = super()._model_call(inps, attn_mask, labels)
        return logits

    def _model_generate(
        self, context: torch.Tensor, max_length: int, stop: list[str], **generation_kwargs: Any
    ) -> torch.Tensor:
        with self._intervention():
            out: torch.Tensor = super()._model_generate(
                context, max_length, stop, **generation_kwargs
            )
        return out


def _chosen(
    neurons: str | None, languages: str | None, control_seed: int | None
) -> dict[int, list[int]]:
    """Layer -> neurons to zero: the union over ``languages`` of the set's (or its control's)."""
    if not languages:
        return {}
    if neurons is None:
        raise ConfigError("ablate= needs neurons=<neuron set file>")
    chosen: NeuronSet = load(Path(neurons))
    if control_seed is not None:
        chosen = matched_random(chosen, int(control_seed))
    union: dict[int, set[int]] = {}
    for lang in languages.split("+"):
        if lang not in chosen.languages:
            raise ConfigError(
                f"neuron set {neurons} has no language '{lang}' (it has {', '.join(chosen.languages)})"
            )
        for layer, indices in chosen.languages[lang].items():
            union.setdefault(layer, set()).update(indices)
    return {layer: sorted(indices) for layer, indices in union.items()}


if __name__ == "__main__":
    from lm_eval.__main__ import cli_evaluate

    cli_evaluate()
