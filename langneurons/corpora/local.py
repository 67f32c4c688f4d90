"""Local files: plain text (paragraphs separated by blank lines) or JSONL (a ``text`` per line).

``path`` is a template with ``{lang}`` and ``{split}``, e.g.
``data/{lang}.{split}.txt``; the two splits are separate files, so they are
disjoint by construction.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from langneurons.corpus import SOURCES, CorpusSpec, Split
from langneurons.errors import ConfigError, FormatError, MissingResourceError


def _file(spec: CorpusSpec, lang: str, split: Split) -> Path:
    if not spec.path or "{lang}" not in spec.path:
        raise ConfigError(f"data source '{spec.source}' needs a path with {{lang}} (and {{split}})")
    path = Path(spec.path.format(lang=lang, split=split)).expanduser()
    if not path.is_file():
        raise MissingResourceError(
            f"no {spec.source} data for '{lang}' ({split}): {path} does not exist"
        )
    return path


def read_text(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the blank-line separated paragraphs of the file."""
    text = _file(spec, lang, split).read_text(encoding="utf-8")
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def read_jsonl(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the ``text`` field of every line of the file."""
    path = _file(spec, lang, split)
    paragraphs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            paragraphs.append(str(json.loads(line)["text"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            raise FormatError(
                f"{path}:{number}: expected a JSON object with a 'text' field"
            ) from None
    return paragraphs


SOURCES.add("text", read_text)
SOURCES.add("jsonl", read_jsonl)
