"""Concepts for the latent-language task: a word per language and a cloze sentence per language.

The project's own list (``langneurons/text/data/concepts.yaml``, 107 concrete nouns in
the nine default languages) is the default; a task can name another file in the
same format (``data: {source: concepts, path: my_concepts.yaml}``). The format:

.. code-block:: yaml

    languages:
      en: {name: English, answer: "Answer:"}   # name in translation prompts, cloze label
    concepts:
      - en: cloud | A "___" floats in the sky and can bring rain.
        fr: nuage | Un "___" flotte dans le ciel et peut apporter la pluie.

Every concept has every language of ``languages``; every sentence has exactly one
``"___"``. Files are checked when read; problems name the file and the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from langneurons.errors import ConfigError, MissingResourceError
from langneurons.input_files import parse_yaml, read_text

BLANK = '"___"'


@dataclass(frozen=True)
class Concept:
    """One concept: its word and cloze sentence in each language."""

    words: dict[str, str]
    cloze: dict[str, str]

    @property
    def name(self) -> str:
        """The English word, which names the concept."""
        return self.words["en"]


@dataclass(frozen=True)
class Concepts:
    """A concept list with the per-language labels prompts need."""

    names: dict[str, str]
    answers: dict[str, str]
    concepts: tuple[Concept, ...]
    where: str

    def require(self, languages: list[str]) -> None:
        """Raise MissingResourceError naming the first language the list lacks."""
        for lang in languages:
            if lang not in self.names:
                raise MissingResourceError(
                    f"{self.where} has no '{lang}' words (it has {', '.join(self.names)}); "
                    "add them or give another file with data: {source: concepts, path: ...}"
                )


def load_concepts(path: str | None = None) -> Concepts:
    """Read the built-in list (``path`` None) or a file in the same format.

    Raises:
        MissingResourceError: the file does not exist.
        ConfigError: malformed YAML, a missing language, a sentence without one blank.
    """
    if path is None:
        return _builtin()
    file = Path(path)
    if not file.is_file():
        raise MissingResourceError(f"concept file {file} does not exist")
    return _parse(read_text(file, "concept file", ConfigError), str(file))


@cache
def _builtin() -> Concepts:
    text = files("langneurons.text").joinpath("data/concepts.yaml").read_text(encoding="utf-8")
    return _parse(text, "the built-in concept list")


def _parse(text: str, where: str) -> Concepts:
    data = parse_yaml(text, where)
    if not isinstance(data, dict) or not {"languages", "concepts"} <= set(data):
        raise ConfigError(f"{where}: expected the keys 'languages' and 'concepts'")
    languages = data["languages"]
    if "en" not in languages:
        raise ConfigError(f"{where}: languages: 'en' is required (it names the concepts)")
    names = {lang: str(entry["name"]) for lang, entry in languages.items()}
    answers = {lang: str(entry["answer"]) for lang, entry in languages.items()}
    concepts = []
    for number, entry in enumerate(data["concepts"], start=1):
        words, cloze = {}, {}
        for lang in names:
            if lang not in entry:
                raise ConfigError(f"{where}: concept {number}: missing language '{lang}'")
            word, _, sentence = str(entry[lang]).partition(" | ")
            if sentence.count(BLANK) != 1:
                raise ConfigError(
                    f"{where}: concept {number} ({lang}): expected 'word | sentence' "
                    f"with exactly one {BLANK} in the sentence"
                )
            words[lang], cloze[lang] = word.strip(), sentence.strip()
        concepts.append(Concept(words, cloze))
    return Concepts(names, answers, tuple(concepts), where)
