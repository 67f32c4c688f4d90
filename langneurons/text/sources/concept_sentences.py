"""``concepts``: the latent-language task's concept list (:mod:`langneurons.text.concepts`) as text.

Its paragraphs are the cloze sentences with the blank filled by the word, one per
concept, aligned across languages; evaluate split only. The latent-language task
reads the structured list itself; as a corpus it gives short parallel sentences.
"""

from __future__ import annotations

from langneurons.errors import MissingResourceError
from langneurons.text.concepts import BLANK, load_concepts
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split

#: the source name task files give as ``data.source``
NAME = "concepts"


def read_concepts(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the filled-in cloze sentences of ``lang`` (split ``evaluate`` only)."""
    if split != "evaluate":
        raise MissingResourceError("the concepts source has an evaluate split only")
    data = load_concepts(spec.path)
    data.require([lang])
    return [c.cloze[lang].replace(BLANK, c.words[lang]) for c in data.concepts]


SOURCES.add(NAME, Source(read_concepts))
