"""The fluency guard: a steered generation counts only if it reads as text.

Pushing neurons too hard makes models emit runs of whitespace, replacement
characters from broken UTF-8, or a word or clause in a loop; a language detector
may still name the target language for such output. The guard measures letters
(``str.isalpha``, which covers every script), the share of letters among visible
characters, and the repetition rate: the share of ``NGRAM``-grams of the text's
letters (everything else dropped, so punctuation and line breaks cannot hide a
loop) that repeat an earlier one. A loop with a period of ``p`` letters in ``n``
letters repeats about ``(n - p) / n`` of them: near 1 for a word repeated, lower
for a long clause, near 0 for prose. The measures are script-neutral, so Chinese
and German are judged alike; the task declares the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

NGRAM = 5


@dataclass(frozen=True)
class Fluency:
    """What the guard measured on one text.

    Attributes:
        letters: characters for which ``str.isalpha`` holds.
        letter_share: letters over visible (non-whitespace) characters.
        repetition: share of letter ``NGRAM``-grams already seen earlier in the text.
    """

    letters: int
    letter_share: float
    repetition: float


def measure(text: str) -> Fluency:
    """Measure ``text`` (see the module docstring)."""
    visible = [c for c in text if not c.isspace()]
    letters = "".join(c for c in visible if c.isalpha())
    grams = [letters[i : i + NGRAM] for i in range(len(letters) - NGRAM + 1)]
    repetition = 1 - len(set(grams)) / len(grams) if grams else 0.0
    return Fluency(len(letters), len(letters) / len(visible) if visible else 0.0, repetition)
