"""Prompts of the latent-language task, built as Wendler et al. 2024 build them.

Reference: github.com/epfl-dlab/llm-latent-language, ``Translation_Final.ipynb``
(``sample``: k = 5 lines, the first k - 1 are demonstrations drawn from the other
words, then the query ``Français: "nuage" - 中文: "``; rows whose English word is
contained in the target word are deleted; items whose target or English token set
is empty, or whose sets intersect when the target is not English, are skipped) and
``Cloze_Final.ipynb`` (two demonstration sentences, then the query sentence cut
after its answer label: ``... Réponse : "``). Repetition is translation with the
input language equal to the output language.

Deliberate differences: demonstrations are drawn with a generator seeded by
(seed, concept), so every cell and kind shows a concept with the same
demonstration concepts and a run is reproducible; the containment rule applies to
cloze prompts too; every reason an item is left out is counted.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from langneurons.tasks.answer_tokens import AnswerTokens
from langneurons.text.concepts import Concept, Concepts

PromptKind = Literal["translation", "repetition", "cloze"]
PROMPT_KINDS: tuple[PromptKind, ...] = ("translation", "repetition", "cloze")


@dataclass(frozen=True)
class Item:
    """One prompt with the token sets of its answer and of the English answer."""

    concept: str
    prompt: str
    target: frozenset[int]
    latent: frozenset[int]


@dataclass(frozen=True)
class Items:
    """The items of a cell and how many concepts were left out, by reason."""

    items: list[Item]
    dropped: dict[str, int]


def build_items(
    data: Concepts,
    kind: PromptKind,
    source: str,
    target: str,
    demonstrations: int,
    seed: int,
    tokens: AnswerTokens,
    latent: str = "en",
) -> Items:
    """Every concept's prompt for one cell, without the items the reference skips.

    Reasons counted in ``dropped``: ``contains_latent`` (the English word is part of
    the target word), ``no_tokens`` (no vocabulary entry starts either word),
    ``overlap`` (an entry starts both).
    """
    kept: list[Item] = []
    dropped: Counter[str] = Counter()
    for concept in data.concepts:
        answer, english = concept.words[target], concept.words[latent]
        target_ids, latent_ids = tokens.of(answer), tokens.of(english)
        if target != latent and english.lower() in answer.lower():
            dropped["contains_latent"] += 1
        elif not target_ids or not latent_ids:
            dropped["no_tokens"] += 1
        elif target != latent and target_ids & latent_ids:
            dropped["overlap"] += 1
        else:
            shown = _demonstrations(data, concept, demonstrations, seed)
            prompt = _prompt(data, kind, source, target, [*shown, concept])
            kept.append(Item(concept.name, prompt, target_ids, latent_ids))
    return Items(kept, {r: dropped[r] for r in ("contains_latent", "no_tokens", "overlap")})


def _demonstrations(data: Concepts, query: Concept, count: int, seed: int) -> list[Concept]:
    others = [c for c in data.concepts if c is not query]
    return random.Random(f"{seed}/{query.name}").sample(others, count)


def _prompt(
    data: Concepts, kind: PromptKind, source: str, target: str, lines: list[Concept]
) -> str:
    *shown, query = lines
    if kind == "cloze":
        label = data.answers[target]
        rows = [f'{c.cloze[target]} {label} "{c.words[target]}"' for c in shown]
        return "\n".join([*rows, f'{query.cloze[target]} {label} "'])
    src, tgt = data.names[source], data.names[target]
    rows = [f'{src}: "{c.words[source]}" - {tgt}: "{c.words[target]}"' for c in shown]
    return "\n".join([*rows, f'{src}: "{query.words[source]}" - {tgt}: "'])
