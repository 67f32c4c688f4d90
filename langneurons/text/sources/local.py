"""Local files: plain text (paragraphs separated by blank lines) or JSONL (a ``text`` per line).

``path`` is a template with ``{lang}`` and ``{split}``, e.g.
``data/{lang}.{split}.txt``; the two splits are separate files, so they are
disjoint by construction. Both fields are required (without ``{split}`` the
neurons would be identified on the very text the tasks score), and no other
field is allowed. Files must be UTF-8; a JSON line with a key given twice is an
error.
"""

from __future__ import annotations

import re
from pathlib import Path

from langneurons.errors import ConfigError, FormatError, MissingResourceError
from langneurons.input_files import parse_json, template_fields
from langneurons.input_files import read_text as read_file
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split

FIELDS = ("lang", "split")


def check_path(spec: CorpusSpec) -> None:
    """Raise unless ``spec.path`` is a template with exactly ``{lang}`` and ``{split}``.

    Raises:
        ConfigError: no path, an unknown field (the allowed ones are listed), or
            a missing one (saying what it would cost).
    """
    example = f"data/{{lang}}.{{split}}.{'jsonl' if spec.source == 'jsonl' else 'txt'}"
    where = f"data source '{spec.source}' path"
    if not spec.path:
        raise ConfigError(f"data source '{spec.source}' needs a path such as {example}")
    fields = template_fields(spec.path, FIELDS, where)
    if "lang" not in fields:
        raise ConfigError(
            f"{where} '{spec.path}' has no {{lang}}: every language would read the same "
            f"file; use a template such as {example}"
        )
    if "split" not in fields:
        raise ConfigError(
            f"{where} '{spec.path}' has no {{split}}: identification and evaluation would "
            f"read the same file, so the scored text would not be held out; use a template "
            f"such as {example}"
        )


def _file(spec: CorpusSpec, lang: str, split: Split) -> Path:
    check_path(spec)
    assert spec.path is not None  # check_path rejects a missing path
    path = Path(spec.path.format(lang=lang, split=split)).expanduser()
    if not path.is_file():
        raise MissingResourceError(
            f"no {spec.source} data for '{lang}' ({split}): {path} does not exist"
        )
    return path


def read_text(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the blank-line separated paragraphs of the file."""
    path = _file(spec, lang, split)
    text = read_file(path, f"{spec.source} data")
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def read_jsonl(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the ``text`` field of every line of the file."""
    path = _file(spec, lang, split)
    paragraphs = []
    # split on newlines only: JSON strings may hold U+2028, which splitlines() breaks at
    for number, line in enumerate(read_file(path, f"{spec.source} data").split("\n"), 1):
        if not line.strip():
            continue
        row = parse_json(line, f"{path}:{number}")
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise FormatError(f"{path}:{number}: expected a JSON object with a 'text' field")
        paragraphs.append(row["text"])
    return paragraphs


SOURCES.add("text", Source(read_text, check_path=check_path))
SOURCES.add("jsonl", Source(read_jsonl, check_path=check_path))
