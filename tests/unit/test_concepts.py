"""The built-in concept list and the concept file format."""

import pytest

from langneurons.errors import ConfigError, MissingResourceError
from langneurons.text.concepts import BLANK, load_concepts
from langneurons.text.corpus import CorpusSpec, paragraphs

DEFAULT = ["en", "zh", "ja", "ru", "de", "fr", "es", "vi", "id"]


def test_builtin_list_has_100_concepts_in_every_default_language():
    data = load_concepts()
    assert len(data.concepts) >= 100
    assert list(data.names) == DEFAULT
    assert len({c.name for c in data.concepts}) == len(data.concepts)
    for concept in data.concepts:
        assert set(concept.words) == set(concept.cloze) == set(DEFAULT)


def test_no_cloze_sentence_gives_its_answer_away():
    leaks = []
    for concept in load_concepts().concepts:
        for lang, sentence in concept.cloze.items():
            word = concept.words[lang]
            # scripts without spaces: even the first character would start the answer's tokens
            probe = word[0] if lang in ("zh", "ja") else word.lower()
            if sentence.count(BLANK) != 1 or probe in sentence.replace(BLANK, "").lower():
                leaks.append(f"{concept.name}/{lang}")
    assert leaks == []


def test_the_concepts_source_gives_filled_in_sentences():
    texts = paragraphs(CorpusSpec("concepts"), "fr", "evaluate")
    assert len(texts) == len(load_concepts().concepts)
    assert texts[0] == "Un nuage flotte dans le ciel et peut apporter la pluie."
    with pytest.raises(MissingResourceError, match="evaluate split only"):
        paragraphs(CorpusSpec("concepts"), "fr", "identify")
    with pytest.raises(MissingResourceError, match="no 'sw' words"):
        paragraphs(CorpusSpec("concepts"), "sw", "evaluate")


def test_a_file_in_the_same_format_is_read(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        'languages:\n  en: {name: English, answer: "Answer:"}\n  de: {name: Deutsch, answer: "Antwort:"}\n'
        'concepts:\n  - en: cloud | A "___" floats.\n    de: Wolke | Eine "___" schwebt.\n',
        encoding="utf-8",
    )
    data = load_concepts(str(path))
    assert data.concepts[0].words == {"en": "cloud", "de": "Wolke"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concepts: []\n", "expected the keys"),
        ('languages:\n  de: {name: D, answer: "A:"}\nconcepts: []\n', "'en' is required"),
        (
            'languages:\n  en: {name: E, answer: "A:"}\n  de: {name: D, answer: "A:"}\n'
            'concepts:\n  - en: cloud | A "___".\n',
            "concept 1: missing language 'de'",
        ),
        (
            'languages:\n  en: {name: E, answer: "A:"}\nconcepts:\n  - en: cloud | no blank here\n',
            r"concept 1 \(en\): expected 'word \| sentence'",
        ),
        ("languages: [\n", "malformed YAML"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_concepts(str(path))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(MissingResourceError, match="does not exist"):
        load_concepts(str(tmp_path / "none.yaml"))
