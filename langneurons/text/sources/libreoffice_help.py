"""``libreoffice-help``: LibreOffice's help from Debian's ``libreoffice-help-<lang>`` packages (MPL-2.0).

Every help page exists in every language, and each of its paragraphs and headings
carries an id (``par_id3154254``, ``hd_id3152887``) that the translations keep, so
the source is paragraph-parallel by (help file, id). ``prepare()`` fetches the
packages (:mod:`langneurons.text.debian`; Debian 12 ships LibreOffice 7.4, 28 of our
languages, about 93 MB) and keeps, for each ``<p>`` or ``<h1>``-``<h6>`` with such an
id in ``usr/share/libreoffice/help/<dir>/text/``, its text without markup. Left out:
the hidden variants of a switch except the default one (``Strg`` and not also the
Mac's ``Befehl``), code, content embedded from another page (it is kept where it
lives), and every paragraph whose text equals the English one at the same
(file, id): the untranslated rest. English keeps all of its paragraphs.

Splits by help file (:func:`langneurons.text.debian.split_of`, one file in four
evaluated); the files are written under ``$LANGNEURONS_CACHE/corpora/libreoffice-help-1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from langneurons.atomic_write import atomic_write_text
from langneurons.paths import corpora_dir
from langneurons.text import debian
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split

#: the source name task files give as ``data.source``
NAME = "libreoffice-help"
#: bump when the extraction changes, so that an older prepared folder is not read
EXTRACTION = 1
#: our language code -> the Debian package's suffix (bookworm has these of our languages)
PACKAGES = {
    "ca": "ca",
    "cs": "cs",
    "da": "da",
    "de": "de",
    "el": "el",
    "en": "en-us",
    "es": "es",
    "et": "et",
    "eu": "eu",
    "fi": "fi",
    "fr": "fr",
    "gl": "gl",
    "hi": "hi",
    "hu": "hu",
    "id": "id",
    "it": "it",
    "ja": "ja",
    "km": "km",
    "ko": "ko",
    "nl": "nl",
    "pl": "pl",
    "pt": "pt",
    "ru": "ru",
    "sl": "sl",
    "sv": "sv",
    "tr": "tr",
    "vi": "vi",
    "zh": "zh-cn",
}
ENGLISH = "en"
_PAGE = re.compile(r"usr/share/libreoffice/help/[^/]+/(text/.+\.html)")
_BLOCK_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_ID = re.compile(r"(par|hd)_id\w+")
_SKIPPED_TAGS = {"pre", "script", "style"}
_SKIPPED_CLASSES = {"embedded", "bascode", "pycode", "code"}
#: where a page's help text starts and ends (around it: the header, index and debug footer)
_CONTENT, _CONTENT_END = '<div id="DisplayArea"', "<footer"


def folder() -> Path:
    """Return the folder holding the parsed help, one JSON file per language."""
    return corpora_dir() / f"{NAME}-{EXTRACTION}"


def read(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the help paragraphs of ``lang`` in ``split``."""
    return debian.read_corpus(folder(), NAME, PACKAGES, lang, split)


def prepare() -> Path:
    """Fetch the help packages once and parse every language; return the folder."""
    target = folder()
    if not (target / "DONE").is_file():
        debs = debian.fetch([_package(lang) for lang in PACKAGES])
        parse_packages({lang: debs[_package(lang)] for lang in PACKAGES}, target)
    return target


def _package(lang: str) -> str:
    return f"libreoffice-help-{PACKAGES[lang]}"


def parse_packages(debs: Mapping[str, Path], target: Path) -> None:
    """Parse each language's ``.deb`` into ``target`` (English first: the others drop its text)."""
    english: dict[str, str] = {}
    versions = []
    for lang in sorted(debs, key=lambda code: (code != ENGLISH, code)):
        package = debian.read_deb(debs[lang], _is_page)
        pages = {_unit(name): parse_page(text) for name, text in package.texts.items()}
        paragraphs = list(_paragraphs(pages))
        if lang == ENGLISH:
            english = {p.key: p.text for p in paragraphs}
        translated = (p for p in paragraphs if lang == ENGLISH or english.get(p.key) != p.text)
        debian.write_corpus(target, lang, translated, f"{package.name} {package.version}")
        versions.append(f"{package.name} {package.version}\n")
    atomic_write_text(target / "DONE", "".join(versions))


def _is_page(name: str) -> bool:
    return _PAGE.fullmatch(name) is not None


def _unit(name: str) -> str:
    match = _PAGE.fullmatch(name)
    assert match is not None  # read_deb gave only the names _is_page accepts
    return match.group(1)


def _paragraphs(pages: dict[str, list[tuple[str, str]]]) -> Iterator[debian.Paragraph]:
    for unit in sorted(pages):
        for key, text in pages[unit]:
            yield debian.Paragraph(unit, f"{unit}#{key}", text)


def parse_page(document: str) -> list[tuple[str, str]]:
    """Return ``(paragraph id, text)`` of a help page, each id once (its first occurrence)."""
    start, end = document.find(_CONTENT), document.rfind(_CONTENT_END)
    content = document[start:end] if 0 <= start < end else document  # a third less to parse
    first: dict[str, str] = {}
    for key, text in debian.blocks(content, _block, _skipped):
        first.setdefault(key, text)
    return list(first.items())


def _block(tag: str, attrs: dict[str, str | None]) -> str | None:
    key = attrs.get("id")
    return key if tag in _BLOCK_TAGS and key and _ID.fullmatch(key) else None


def _skipped(tag: str, attrs: dict[str, str | None]) -> bool:
    hidden = "hidden" in attrs and not (attrs.get("id") or "").startswith("default")
    classes = set((attrs.get("class") or "").split())
    return hidden or tag in _SKIPPED_TAGS or bool(classes & _SKIPPED_CLASSES)


SOURCES.add(NAME, Source(read, prepare=prepare, identify_tokens=debian.IDENTIFY_TOKENS))
