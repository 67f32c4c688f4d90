"""Token windows: how text is cut into model inputs, the same for every task.

Paragraphs are tokenized one at a time (each followed by a blank line), streamed
into fixed windows of ``window`` content tokens, and each window is prefixed with
the tokenizer's BOS token when it has one. The BOS position is never scored or
counted: it is an attention sink with outlying activations, not text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Window:
    """One model input.

    Attributes:
        ids: token ids, BOS first when the tokenizer has one.
        prefix: number of leading positions that are not text (0 or 1).
    """

    ids: tuple[int, ...]
    prefix: int

    @property
    def text_tokens(self) -> int:
        """Number of text tokens (the ids after the prefix)."""
        return len(self.ids) - self.prefix


def windows(
    tokenizer: PreTrainedTokenizerBase,
    paragraphs: Iterable[str],
    window: int,
    max_tokens: int | None = None,
) -> Iterator[Window]:
    """Yield windows of at most ``window`` text tokens, ``max_tokens`` in all.

    Args:
        tokenizer: the model's tokenizer.
        paragraphs: text in reading order.
        window: text tokens per window (the BOS is extra).
        max_tokens: stop after this many text tokens (None: all of them).
    """
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    buffer: list[int] = []
    budget = max_tokens if max_tokens is not None else float("inf")
    for paragraph in paragraphs:
        buffer.extend(tokenizer(paragraph + "\n\n", add_special_tokens=False)["input_ids"])
        while len(buffer) >= window and budget >= window:
            yield Window(tuple(bos + buffer[:window]), len(bos))
            del buffer[:window]
            budget -= window
        if budget < window and len(buffer) >= budget:
            break
    rest = buffer[: int(min(len(buffer), budget))]
    if rest:
        yield Window(tuple(bos + rest), len(bos))


def batches(items: Iterable[Window], batch_size: int) -> Iterator[list[Window]]:
    """Group windows of equal length into batches of at most ``batch_size`` (no padding)."""
    pending: dict[int, list[Window]] = {}
    for item in items:
        group = pending.setdefault(len(item.ids), [])
        group.append(item)
        if len(group) == batch_size:
            yield pending.pop(len(item.ids))
    yield from pending.values()
