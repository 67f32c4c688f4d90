"""Token windows: how text is cut into model inputs, the same for every task.

Paragraphs are tokenized one at a time (each followed by a blank line), streamed
into fixed windows of ``window`` content tokens, and each window is prefixed with
the tokenizer's BOS token when it has one. The BOS position is never scored or
counted: it is an attention sink with outlying activations, not text.

A token budget is a promise: text that runs out before it is an error naming
what it has, never a smaller sample scored as if it were the full one.
:func:`check_budget` tells before any model loads (it needs the tokenizer only);
:func:`windows` tells again at first use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langneurons.errors import ConfigError

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
    where: str = "the text",
) -> list[Window]:
    """Return windows of at most ``window`` text tokens, exactly ``max_tokens`` in all.

    Args:
        tokenizer: the model's tokenizer.
        paragraphs: text in reading order.
        window: text tokens per window (the BOS is extra).
        max_tokens: stop after this many text tokens (None: all of them).
        where: what the text is, for the error ("task 'x': de (udhr, evaluate)").

    Raises:
        ConfigError: the text has fewer than ``max_tokens`` tokens.
    """
    return list(stream_windows(tokenizer, paragraphs, window, max_tokens, where))


def stream_windows(
    tokenizer: PreTrainedTokenizerBase,
    paragraphs: Iterable[str],
    window: int,
    max_tokens: int | None = None,
    where: str = "the text",
) -> Iterator[Window]:
    """:func:`windows`, one at a time: a pass over a long text holds one window, not all.

    Raises:
        ConfigError: when the text runs out short of ``max_tokens`` (after the
            windows it had).
    """
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    budget = max_tokens if max_tokens is not None else float("inf")
    total = 0
    buffer: list[int] = []
    for ids in _token_ids(tokenizer, paragraphs):
        buffer.extend(ids)
        while len(buffer) >= window and budget >= window:
            yield Window(tuple(bos + buffer[:window]), len(bos))
            del buffer[:window]
            budget -= window
            total += window
        if budget < window and len(buffer) >= budget:
            break
    rest = buffer[: int(min(len(buffer), budget))]
    if rest:
        yield Window(tuple(bos + rest), len(bos))
        total += len(rest)
    if max_tokens is not None:
        _check_total(total, max_tokens, where)


def check_budget(
    tokenizer: PreTrainedTokenizerBase, paragraphs: Iterable[str], tokens: int, where: str
) -> None:
    """Raise unless ``paragraphs`` give ``tokens`` text tokens, tokenized as :func:`windows` does.

    Cheap (tokenizes up to the budget, no model), so a run can check every task's
    budget before the model loads.

    Raises:
        ConfigError: naming ``where``, the tokens the text has and those asked for.
    """
    total = 0
    for ids in _token_ids(tokenizer, paragraphs):
        total += len(ids)
        if total >= tokens:
            return
    _check_total(total, tokens, where)


def _token_ids(
    tokenizer: PreTrainedTokenizerBase, paragraphs: Iterable[str]
) -> Iterator[list[int]]:
    for paragraph in paragraphs:
        yield list(tokenizer(paragraph + "\n\n", add_special_tokens=False)["input_ids"])


def _check_total(total: int, wanted: int, where: str) -> None:
    if total < wanted:
        raise ConfigError(
            f"{where} has {total} tokens, fewer than the {wanted} asked for; ask for at most "
            f"{total} or give more text"
        )


def batches(items: Iterable[Window], batch_size: int) -> Iterator[list[Window]]:
    """Group windows of equal length into batches of at most ``batch_size`` (no padding)."""
    pending: dict[int, list[Window]] = {}
    for item in items:
        group = pending.setdefault(len(item.ids), [])
        group.append(item)
        if len(group) == batch_size:
            yield pending.pop(len(item.ids))
    yield from pending.values()
