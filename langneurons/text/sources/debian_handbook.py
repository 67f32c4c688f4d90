"""``debian-handbook``: The Debian Administrator's Handbook, Debian package ``debian-handbook``.

Book-length prose in 25 of our languages, Arabic and Persian among them (GPL-2+ or
CC-BY-SA-3.0, the reader's choice). ``prepare()`` fetches the one package
(:mod:`langneurons.text.debian`; Debian 12: edition 11, 35 MB) and keeps, from each
language's HTML pages in ``usr/share/doc/debian-handbook/html/<ll-CC>/``, the text of
its paragraphs (``div.para``) and titles without markup; listings, screen output and
URL footnotes are left out, and so is every paragraph of a translation that equals
one of the English page's once the text of cross-references is set aside (the
untranslated rest: the book's tools translate a reference's chapter title even in a
paragraph left in English). English keeps all of them.

Splits by chapter (:func:`langneurons.text.debian.split_of` of the chapter's page):
a section's page belongs to the chapter its ``rel="up"`` links lead to, taken from
the English pages so that every language splits alike. The files are written under
``$LANGNEURONS_CACHE/corpora/debian-handbook-1``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from langneurons.atomic_write import atomic_write_text
from langneurons.errors import FormatError
from langneurons.paths import corpora_dir
from langneurons.text import debian
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split

#: the source name task files give as ``data.source``
NAME = "debian-handbook"
PACKAGE = "debian-handbook"
#: bump when the extraction changes, so that an older prepared folder is not read
EXTRACTION = 1
#: our language code -> the book's folder (zh-TW is left out: ``zh`` is Simplified Chinese)
FOLDERS = {
    "ar": "ar-MA",
    "ca": "ca-ES",
    "cs": "cs-CZ",
    "da": "da-DK",
    "de": "de-DE",
    "el": "el-GR",
    "en": "en-US",
    "es": "es-ES",
    "fa": "fa-IR",
    "fr": "fr-FR",
    "hr": "hr-HR",
    "id": "id-ID",
    "it": "it-IT",
    "ja": "ja-JP",
    "ko": "ko-KR",
    "nl": "nl-NL",
    "no": "nb-NO",
    "pl": "pl-PL",
    "pt": "pt-BR",
    "ro": "ro-RO",
    "ru": "ru-RU",
    "sv": "sv-SE",
    "tr": "tr-TR",
    "vi": "vi-VN",
    "zh": "zh-CN",
}
ENGLISH = "en"
#: the page that is no chapter's section: the title page
TITLE_PAGE = "index.html"
_PAGE = re.compile(r"usr/share/doc/debian-handbook/html/([^/]+)/([^/]+\.html)")
_UP = re.compile(r'<link rel="up" href="([^"#]+)')
_XREF = re.compile(r'(<a [^>]*class="xref"[^>]*>).*?</a>', re.DOTALL)
_TITLES = {"h1", "h2", "h3", "h4", "h5", "h6", "p"}
_SKIPPED_TAGS = {"pre", "script", "style"}
_SKIPPED_CLASSES = {"url", "toc", "docnav", "indexterm"}


def folder() -> Path:
    """Return the folder holding the parsed book, one JSON file per language."""
    return corpora_dir() / f"{NAME}-{EXTRACTION}"


def read(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the book's paragraphs of ``lang`` in ``split``."""
    return debian.read_corpus(folder(), NAME, FOLDERS, lang, split)


def prepare() -> Path:
    """Fetch the package once and parse every language; return the folder."""
    target = folder()
    if not (target / "DONE").is_file():
        parse_package(debian.fetch([PACKAGE])[PACKAGE], target)
    return target


def parse_package(deb: Path, target: Path) -> None:
    """Parse every language of the book's ``.deb`` into ``target``."""
    languages = {book: lang for lang, book in FOLDERS.items()}
    package = debian.read_deb(deb, lambda name: _place(name)[0] in languages)
    books: dict[str, dict[str, str]] = {}
    for name, text in package.texts.items():
        book, page = _place(name)
        books.setdefault(languages[book], {})[page] = text
    if ENGLISH not in books:
        raise FormatError(f"{deb} has no html/{FOLDERS[ENGLISH]} pages: is it {PACKAGE}?")
    chapters = chapters_of(books[ENGLISH])
    english = {page: set(_signatures(text).values()) for page, text in books[ENGLISH].items()}
    origin = f"{package.name} {package.version}"
    for lang, pages in sorted(books.items()):
        paragraphs = _paragraphs(pages, chapters, {} if lang == ENGLISH else english)
        debian.write_corpus(target, lang, paragraphs, f"{origin} html/{FOLDERS[lang]}")
    atomic_write_text(target / "DONE", f"{origin}\n")


def _place(name: str) -> tuple[str, str]:
    """The book folder and page of a member name; ``("", "")`` for other files."""
    match = _PAGE.fullmatch(name)
    return (match.group(1), match.group(2)) if match else ("", "")


def chapters_of(pages: Mapping[str, str]) -> dict[str, str]:
    """Return page -> its chapter's page, following ``rel="up"`` links to the title page."""
    up = {
        page: found.group(1) if (found := _UP.search(text)) else None
        for page, text in pages.items()
    }
    chapters = {}
    for page in pages:
        chapter = page
        for _ in pages:  # bounded: a cycle of up links ends here
            parent = up.get(chapter)
            if parent in (None, TITLE_PAGE) or parent not in pages:
                break
            chapter = parent
        chapters[page] = chapter
    return chapters


def _paragraphs(
    pages: Mapping[str, str], chapters: Mapping[str, str], english: Mapping[str, set[str]]
) -> Iterator[debian.Paragraph]:
    for page in sorted(pages, key=lambda p: (chapters.get(p, p), p)):
        untranslated = english.get(page, set())
        signatures = _signatures(pages[page]) if untranslated else {}
        for number, text in parse_page(pages[page]):
            if signatures.get(number) not in untranslated:
                yield debian.Paragraph(chapters.get(page, page), f"{page}#{number}", text)


def parse_page(document: str) -> list[tuple[str, str]]:
    """Return ``(number, text)`` of a page's paragraphs and titles, numbered in page order."""
    numbers = itertools.count()
    return debian.blocks(
        document, lambda tag, attrs: str(next(numbers)) if _is_block(tag, attrs) else None, _skipped
    )


def _signatures(document: str) -> dict[str, str]:
    """Return block number -> its text less the cross-references' (the links hold no block)."""
    return dict(parse_page(_XREF.sub(r"\1</a>", document)))


def _is_block(tag: str, attrs: dict[str, str | None]) -> bool:
    classes = set((attrs.get("class") or "").split())
    return (tag == "div" and "para" in classes) or (tag in _TITLES and "title" in classes)


def _skipped(tag: str, attrs: dict[str, str | None]) -> bool:
    classes = set((attrs.get("class") or "").split())
    return tag in _SKIPPED_TAGS or bool(classes & _SKIPPED_CLASSES)


SOURCES.add(NAME, Source(read, prepare=prepare, identify_tokens=debian.IDENTIFY_TOKENS))
