"""Batched greedy generation, and the unmodified model's perplexity on what was generated.

Prompts are left-padded so that every row of a batch ends at the same position
and generated positions line up; interventions that should touch generated
positions only start at the padded prompt length (see
:func:`langneurons.models.interventions.steer`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from langneurons.tasks.perplexity import IGNORED, summed_nll

if TYPE_CHECKING:
    import torch

    from langneurons.models.handle import ModelHandle

#: Given the padded prompt length of a batch, the intervention to run it under.
Intervention = Callable[[int], contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class Generation:
    """Continuations of some prompts.

    Attributes:
        texts: one decoded continuation per prompt (special tokens dropped).
        batches: per batch, (prompt + continuation ids, attention mask, padded
            prompt length); the mask is 0 on padding and after the first EOS.
        tokens: generated tokens, up to and including each row's first EOS.
        seconds: wall time of the generate calls.
    """

    texts: list[str]
    batches: list[tuple[torch.Tensor, torch.Tensor, int]]
    tokens: int
    seconds: float


def generate(
    handle: ModelHandle,
    prompts: Sequence[str],
    max_new_tokens: int,
    batch_size: int,
    intervention: Intervention | None = None,
) -> Generation:
    """Greedy continuations of ``prompts``, each batch under ``intervention(prompt length)``."""
    import torch

    tokenizer = handle.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    texts: list[str] = []
    batches = []
    tokens = 0
    started = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        enc = tokenizer(
            list(prompts[i : i + batch_size]),
            return_tensors="pt",
            padding=True,
            padding_side="left",
        )
        enc = enc.to(handle.model.device)
        length = enc.input_ids.shape[1]
        within = intervention(length) if intervention else contextlib.nullcontext()
        with within, torch.inference_mode():
            out = handle.model.generate(  # type: ignore[operator]
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad
            )
        new = out[:, length:]
        eos = torch.isin(new, torch.tensor(_eos_ids(handle), device=new.device))
        kept = (eos.cumsum(-1) - eos.long()) == 0  # up to and including the first EOS
        mask = torch.cat([enc.attention_mask, kept.long()], dim=1)
        batches.append((out.cpu(), mask.cpu(), length))
        tokens += int(kept.sum())
        texts += tokenizer.batch_decode(new, skip_special_tokens=True)
    return Generation(texts, batches, tokens, time.perf_counter() - started)


def continuation_nll(handle: ModelHandle, generation: Generation) -> tuple[np.ndarray, np.ndarray]:
    """Per prompt, the summed NLL (nats) of its generated tokens and their number.

    Called with no intervention active, it tells how natural the unmodified model
    finds steered text (high for garbage, moderate for fluent text in a language
    the prompt did not ask for). Per prompt, in the prompts' order, so that the
    perplexity ``exp(sum nll / sum tokens)`` can be resampled over prompts.
    """
    nll, count = [], []
    for ids, mask, length in generation.batches:
        ids, mask = ids.to(handle.model.device), mask.to(handle.model.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        targets = ids.new_full(ids.shape, IGNORED)
        targets[:, length - 1 : -1] = ids[:, length:].masked_fill(mask[:, length:] == 0, IGNORED)
        inputs = {
            "input_ids": ids,
            "attention_mask": mask,
            "position_ids": positions,
            "use_cache": False,
        }
        nll.append(summed_nll(handle, inputs, targets).numpy())
        count.append((targets != IGNORED).sum(-1).cpu().numpy())
    if not nll:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(nll), np.concatenate(count).astype(float)


def perplexity_of(nll: np.ndarray, tokens: np.ndarray) -> float:
    """``exp(sum nll / sum tokens)``; NaN when nothing was generated."""
    total = float(tokens.sum())
    return math.exp(float(nll.sum()) / total) if total else math.nan


def _eos_ids(handle: ModelHandle) -> list[int]:
    eos = handle.model.generation_config.eos_token_id
    if eos is None:
        eos = handle.tokenizer.eos_token_id
    return [int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None]
