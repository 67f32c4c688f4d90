"""Which vocabulary entries count as (the start of) an answer word.

Wendler et al. 2024 score a word by the total probability of every token that is a
prefix of it, with or without the leading-space marker (``token_prefixes`` and
``add_spaces`` in ``Translation_Final.ipynb``, github.com/epfl-dlab/llm-latent-language),
and add the first UTF-8 byte token for Chinese and Russian (``unicode_prefix_tokid``).
Here every vocabulary entry is read as the bytes it stands for, and an entry counts
when those bytes are a non-empty prefix of the word's UTF-8 bytes, or a space
followed by one. This is the same rule for any tokenizer (SentencePiece pieces with
``▁`` and ``<0xXX>`` byte fallback, or GPT-2 style byte-level BPE). Deliberate
difference: byte-prefix tokens count for every language, not only zh and ru.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@cache
def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode`` (openai/gpt-2, ``src/encoder.py``)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}


def _types(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield node["type"]
        for value in node.values():
            yield from _types(value)
    elif isinstance(node, list):
        for value in node:
            yield from _types(value)


def is_byte_level(tokenizer: Any) -> bool:
    """Whether the tokenizer's decoder maps pieces through GPT-2's byte alphabet."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return False
    return "ByteLevel" in set(_types(json.loads(backend.to_str()).get("decoder")))


def piece_bytes(piece: str, byte_level: bool) -> bytes | None:
    """The bytes a vocabulary piece stands for (None when it is not text, e.g. a special token)."""
    if byte_level:
        table = _byte_decoder()
        if not all(char in table for char in piece):
            return None
        return bytes(table[char] for char in piece)
    match = _BYTE_PIECE.fullmatch(piece)
    if match:
        return bytes([int(match.group(1), 16)])
    return piece.replace("\u2581", " ").encode()


class AnswerTokens:
    """The vocabulary of one tokenizer, indexed by the bytes of each entry."""

    def __init__(self, tokenizer: Any) -> None:
        byte_level = is_byte_level(tokenizer)
        special = set(tokenizer.all_special_ids)
        pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        self._ids: dict[bytes, list[int]] = {}
        for token_id, piece in enumerate(pieces):
            if piece is None or token_id in special:
                continue
            raw = piece_bytes(piece, byte_level)
            if raw:
                self._ids.setdefault(raw, []).append(token_id)

    def of(self, word: str) -> frozenset[int]:
        """Ids of every entry that is a prefix of ``word``, with or without a leading space."""
        raw = word.encode()
        found: set[int] = set()
        for end in range(1, len(raw) + 1):
            for lead in (b"", b" "):
                found.update(self._ids.get(lead + raw[:end], ()))
        return frozenset(found)
