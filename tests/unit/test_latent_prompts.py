"""Prompts and item rules of the latent-language task (Wendler et al. 2024)."""

from langneurons.tasks.latent_prompts import build_items
from langneurons.tasks.latent_readout import overtake, peak
from langneurons.text.concepts import Concept, Concepts

NAMES = {"en": "English", "fr": "Français", "zh": "中文"}
ANSWERS = {"en": "Answer:", "fr": "Réponse :", "zh": "答案："}


def concept(en, fr, zh):
    words = {"en": en, "fr": fr, "zh": zh}
    return Concept(words, {lang: f'A "___" ({lang} {w[::-1]}).' for lang, w in words.items()})


DATA = Concepts(
    NAMES,
    ANSWERS,
    (
        concept("cloud", "nuage", "云"),
        concept("book", "livre", "书"),
        concept("fire", "feu", "火"),
        concept("taxi", "taxi", "出租车"),
        concept("water", "eau", "水"),
        concept("moon", "lune", "月"),
    ),
    "test",
)


class FirstLetters:
    """Token sets by first character; 'w' and 'e' share one id, '水' has none."""

    def of(self, word):
        first = word[0].lower()
        if first == "水":
            return frozenset()
        return frozenset({0 if first in "we" else ord(first)})


def test_translation_prompt_has_demonstrations_then_the_open_query():
    items = build_items(DATA, "translation", "fr", "zh", 2, 0, FirstLetters())
    cloud = next(i for i in items.items if i.concept == "cloud")
    lines = cloud.prompt.split("\n")
    assert len(lines) == 3
    assert lines[-1] == 'Français: "nuage" - 中文: "'
    assert all(line.startswith('Français: "') and line.endswith('"') for line in lines[:-1])
    assert "nuage" not in "\n".join(lines[:-1])  # the query's concept is never a demonstration
    assert cloud.target == frozenset({ord("云")}) and cloud.latent == frozenset({ord("c")})


def test_repetition_uses_one_language_and_cloze_ends_at_the_answer_label():
    rep = build_items(DATA, "repetition", "zh", "zh", 2, 0, FirstLetters()).items[0]
    assert rep.prompt.split("\n")[-1] == '中文: "云" - 中文: "'
    cloze = build_items(DATA, "cloze", "fr", "fr", 2, 0, FirstLetters()).items[0]
    lines = cloze.prompt.split("\n")
    assert lines[-1] == 'A "___" (fr egaun). Réponse : "'
    assert all(line.startswith('A "___"') and line.endswith('"') for line in lines)


def test_items_the_reference_skips_are_dropped_and_counted():
    items = build_items(DATA, "translation", "zh", "fr", 2, 0, FirstLetters())
    assert items.dropped == {"contains_latent": 1, "no_tokens": 0, "overlap": 2}
    assert {i.concept for i in items.items} == {"cloud", "book", "moon"}
    # "taxi" contains the English word; "fire"/"feu" and "water"/"eau" share a first token
    to_zh = build_items(DATA, "translation", "fr", "zh", 2, 0, FirstLetters())
    assert to_zh.dropped["no_tokens"] == 1  # nothing starts 水


def test_english_targets_keep_items_whose_sets_coincide():
    items = build_items(DATA, "translation", "fr", "en", 2, 0, FirstLetters())
    assert items.dropped == {"contains_latent": 0, "no_tokens": 0, "overlap": 0}


def test_demonstrations_depend_on_seed_and_concept_only():
    a = build_items(DATA, "translation", "fr", "zh", 2, 0, FirstLetters())
    b = build_items(DATA, "translation", "fr", "zh", 2, 0, FirstLetters())
    c = build_items(DATA, "translation", "fr", "zh", 2, 7, FirstLetters())
    assert [i.prompt for i in a.items] == [i.prompt for i in b.items]
    assert [i.prompt for i in a.items] != [i.prompt for i in c.items]


def test_peak_takes_the_first_maximum_and_overtake_looks_from_the_peak_on():
    assert peak([0.1, 0.4, 0.4, 0.2]) == 1
    assert overtake([0.5, 0.0, 0.1, 0.6], [0.2, 0.3, 0.4, 0.1], after=1) == 3
    assert overtake([0.0, 0.0], [0.1, 0.1], after=0) is None
