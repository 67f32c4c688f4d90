"""Debian packages as raw text: fetched once into the cache, read in pure Python, split by unit.

The documentation sources (LibreOffice help, the Debian Administrator's Handbook)
ship as ``.deb`` files. :func:`fetch` gets them with ``apt-get download`` where apt
exists, otherwise from ``deb.debian.org`` over HTTPS (checked against the suite's
``Packages`` index), and keeps them in ``$LANGNEURONS_CACHE/corpora/debian``, where a
user may also put them by hand. :func:`read_deb` reads one without dpkg: the ar
archive, then its ``control.tar`` and ``data.tar`` (xz, Debian's compression, or gz;
not Ubuntu's zstd) member by member into memory. A ``.deb`` is untrusted input: nothing is extracted to
disk, sizes are bounded, and a member named outside the package refuses the whole
file. :func:`blocks` takes the text of HTML blocks without markup; :func:`write_corpus`
splits a language's paragraphs by unit (help file, chapter) and writes them
atomically; :func:`read_corpus` reads them back.
"""

from __future__ import annotations

import hashlib
import html.parser
import io
import json
import lzma
import os
import shutil
import subprocess
import tarfile
import tempfile
import unicodedata
import urllib.request
import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from langneurons.atomic_write import atomic_path, atomic_write_text
from langneurons.errors import ConfigError, FormatError, MissingResourceError
from langneurons.input_files import load_json
from langneurons.paths import corpora_dir
from langneurons.text.corpus import Split

MIRROR = "https://deb.debian.org/debian"
#: the suite the mirror fallback reads (apt-get download takes what the machine's apt lists)
SUITE = "bookworm"
#: bounds on untrusted input: the largest package read is 35 MB, 94 MB uncompressed
MAX_DEB_BYTES = 256 * 2**20
MAX_TAR_BYTES = 512 * 2**20
#: one unit (help file, chapter) in this many is held out for the evaluate split
EVALUATE_ONE_IN = 4
#: text tokens per language a run identifies on unless told (``Source.identify_tokens``):
#: the papers' scale is out of reach on a CPU; this is 27x UDHR's, a statistics pass of
#: 205 s over nine languages for gemma-3-270m in bfloat16 on 2 cores
IDENTIFY_TOKENS = 30_000
_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
_TIMEOUT_S = 60


def packages_dir() -> Path:
    """Return the folder of fetched ``.deb`` files (safe to delete once the corpora are prepared)."""
    return corpora_dir() / "debian"


def fetch(packages: Sequence[str]) -> dict[str, Path]:
    """Return package name -> its ``.deb`` in :func:`packages_dir`, downloading missing ones.

    Raises:
        MissingResourceError: neither ``apt-get download`` nor the mirror gave a package;
            the message names both ways and the folder to put the files in by hand.
        ConfigError: the folder holds two ``.deb`` files of one package.
    """
    folder = packages_dir()
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    missing = [p for p in packages if _local(folder, p) is None]
    if missing:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
            for download in (_apt_get_download, _mirror_download):
                wanted = [p for p in missing if _local(Path(tmp), p) is None]
                if not wanted:
                    break
                try:
                    download(wanted, Path(tmp))
                except MissingResourceError as error:
                    failures.append(str(error))
            for deb in Path(tmp).glob("*.deb"):
                os.replace(deb, folder / deb.name)
    found = {p: _local(folder, p) for p in packages}
    lacking = [p for p, path in found.items() if path is None]
    if lacking:
        raise MissingResourceError(
            f"cannot fetch {', '.join(lacking)}: {'; '.join(failures)}; run `apt-get update` "
            f"where apt exists, or connect to the network, or put the .deb files in {folder}"
        )
    return {p: path for p, path in found.items() if path is not None}


def _local(folder: Path, package: str) -> Path | None:
    debs = sorted(folder.glob(f"{package}_*.deb"))  # "_" cannot occur in a package name
    if len(debs) > 1:
        raise ConfigError(
            f"{folder} holds {len(debs)} .deb files of {package} "
            f"({', '.join(d.name for d in debs)}): delete all but one"
        )
    return debs[0] if debs else None


def _apt_get_download(packages: Sequence[str], folder: Path) -> None:
    apt = shutil.which("apt-get")
    if apt is None:
        raise MissingResourceError("apt-get download: no apt-get on this machine")
    done = subprocess.run(
        [apt, "download", *packages], cwd=folder, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("E:")]
        raise MissingResourceError(
            f"apt-get download failed ({errors[0] if errors else f'exit {done.returncode}'})"
        )


def _mirror_download(packages: Sequence[str], folder: Path) -> None:
    url = f"{MIRROR}/dists/{SUITE}/main/binary-all/Packages.xz"
    try:
        index = _index(lzma.decompress(_get(url, MAX_DEB_BYTES)).decode("utf-8"), packages)
    except (lzma.LZMAError, UnicodeDecodeError) as error:
        raise MissingResourceError(f"{url} is not a readable index ({error})") from None
    for package in packages:
        entry = index.get(package)
        if entry is None:
            raise MissingResourceError(f"{url} lists no {package}")
        name = PurePosixPath(entry["Filename"]).name
        if not (name.startswith(f"{package}_") and name.endswith(".deb")):
            raise MissingResourceError(f"{url} gives {package} an odd file name {name!r}")
        data = _get(f"{MIRROR}/{entry['Filename']}", int(entry["Size"]))
        if hashlib.sha256(data).hexdigest() != entry["SHA256"]:
            raise MissingResourceError(f"{MIRROR}/{entry['Filename']} does not match its SHA256")
        with atomic_path(folder / name) as tmp:
            tmp.write_bytes(data)


def _get(url: str, limit: int) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            data: bytes = response.read(limit + 1)
    except OSError as error:  # URLError, timeouts, resets
        raise MissingResourceError(f"{url}: {type(error).__name__}: {error}") from None
    if len(data) > limit:
        raise MissingResourceError(f"{url} is larger than {limit} bytes")
    return data


def _index(text: str, packages: Collection[str]) -> dict[str, dict[str, str]]:
    """Package -> its fields, from a ``Packages`` index (stanzas of ``Key: value`` lines)."""
    found: dict[str, dict[str, str]] = {}
    for stanza in text.split("\n\n"):
        fields = _fields(stanza)
        name = fields.get("Package")
        complete = {"Filename", "SHA256"} <= set(fields) and fields.get("Size", "").isdigit()
        if name is not None and name in packages and name not in found and complete:
            found[name] = fields
    return found


def _fields(stanza: str) -> dict[str, str]:
    fields = {}
    for line in stanza.splitlines():
        key, colon, value = line.partition(":")
        if colon and not line[:1].isspace():
            fields[key] = value.strip()
    return fields


@dataclass(frozen=True)
class Package:
    """A ``.deb`` as read: its name and version (from the control file) and the wanted texts.

    Attributes:
        texts: path inside the package (``usr/share/...``, no leading ``./``) -> UTF-8 text.
    """

    name: str
    version: str
    texts: dict[str, str]


def read_deb(path: Path, wanted: Callable[[str], bool]) -> Package:
    """Read the regular files of ``path`` whose names ``wanted`` accepts, in memory.

    Raises:
        FormatError: not an ar archive, no or an unreadable (truncated, not xz or gz)
            control or data member, a member named outside the package (absolute or
            with ``..``), a file or tar beyond the size bounds, or a wanted file that
            is not UTF-8.
    """
    size = path.stat().st_size
    if size > MAX_DEB_BYTES:
        raise _malformed(path, f"{size} bytes, more than {MAX_DEB_BYTES}")
    members = _ar_members(path)
    control = _fields(
        _texts(path, members, "control.tar", {"control"}.__contains__).get("control", "")
    )
    if not {"Package", "Version"} <= set(control):
        raise _malformed(path, "its control file names no Package or Version")
    return Package(
        control["Package"], control["Version"], _texts(path, members, "data.tar", wanted)
    )


def _malformed(path: Path, reason: str) -> FormatError:
    return FormatError(
        f"{path} is not a readable Debian package ({' '.join(reason.split())}); "
        "delete it and run `langneurons prepare` again"
    )


def _ar_members(path: Path) -> dict[str, memoryview]:
    data = memoryview(path.read_bytes())
    if data[: len(_AR_MAGIC)] != _AR_MAGIC:
        raise _malformed(path, "not an ar archive")
    members, at = {}, len(_AR_MAGIC)
    while at < len(data):
        header = bytes(data[at : at + _AR_HEADER])
        size = header[48:58].strip()
        if len(header) < _AR_HEADER or header[58:60] != b"`\n" or not size.isdigit():
            raise _malformed(path, f"a truncated or bad ar header at byte {at}")
        start, end = at + _AR_HEADER, at + _AR_HEADER + int(size)
        if end > len(data):
            raise _malformed(path, f"ar member at byte {at} runs past the end")
        members[header[:16].decode("ascii", "replace").strip().rstrip("/")] = data[start:end]
        at = end + end % 2  # members start on even offsets
    return members


def _texts(
    path: Path, members: dict[str, memoryview], stem: str, wanted: Callable[[str], bool]
) -> dict[str, str]:
    names = [n for n in members if n == stem or n.startswith(f"{stem}.")]
    if len(names) != 1:
        raise _malformed(path, f"{len(names)} {stem} members, expected 1")
    texts = {}
    try:
        with tarfile.open(
            fileobj=io.BytesIO(_decompressed(path, names[0], members)), mode="r:"
        ) as archive:
            for info in archive:
                name = PurePosixPath(info.name)
                if name.is_absolute() or ".." in name.parts:
                    raise _malformed(path, f"member {info.name!r} points outside the package")
                if info.isfile() and wanted(name.as_posix()):
                    handle = archive.extractfile(info)
                    assert handle is not None  # a regular file always has data
                    texts[name.as_posix()] = handle.read().decode("utf-8")
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _malformed(path, f"{names[0]}: {type(error).__name__}: {error}") from None
    except UnicodeDecodeError:
        raise _malformed(path, f"a file of {names[0]} is not UTF-8") from None
    return texts


def _decompressed(path: Path, name: str, members: dict[str, memoryview]) -> bytes:
    """The member's tar, whole: a truncated stream is an error, not a shorter archive."""
    try:
        if name.endswith(".xz"):
            xz = lzma.LZMADecompressor()
            data, complete = xz.decompress(members[name], MAX_TAR_BYTES), xz.eof
        elif name.endswith(".gz"):
            gz = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # the gzip container
            data, complete = gz.decompress(members[name], MAX_TAR_BYTES), gz.eof
        else:
            raise _malformed(path, f"{name}: neither xz nor gz (Debian's packages use xz)")
    except (lzma.LZMAError, zlib.error) as error:
        raise _malformed(path, f"{name}: {error}") from None
    if not complete:
        raise _malformed(path, f"{name} is truncated or over {MAX_TAR_BYTES} bytes uncompressed")
    return data


def blocks(
    document: str,
    block: Callable[[str, dict[str, str | None]], str | None],
    skip: Callable[[str, dict[str, str | None]], bool],
) -> list[tuple[str, str]]:
    """Return ``(key, text)`` of an HTML document's blocks, in document order, without markup.

    Args:
        document: the HTML text.
        block: tag and attributes -> a key when the element's text is one paragraph,
            else None (a block inside a block is part of it).
        skip: tag and attributes -> True when the element's text is left out (code,
            hidden variants, navigation), inside a block or not.

    Returns:
        The blocks with their text NFC-normalised and whitespace collapsed; blocks
        empty after that are dropped.
    """
    parser = _Blocks(block, skip)
    parser.feed(document)
    parser.close()
    return parser.found


class _Blocks(html.parser.HTMLParser):
    def __init__(
        self,
        block: Callable[[str, dict[str, str | None]], str | None],
        skip: Callable[[str, dict[str, str | None]], bool],
    ) -> None:
        super().__init__()
        self.block, self.skip = block, skip
        self.found: list[tuple[str, str]] = []
        self.open: list[tuple[str, bool, bool]] = []  # tag, skipped, starts the block
        self.skipping = 0
        self.key: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br":
                self.handle_data(" ")
            return
        found = dict(attrs)
        skipped = self.skip(tag, found)
        key = None if skipped or self.skipping or self.key is not None else self.block(tag, found)
        self.open.append((tag, skipped, key is not None))
        self.skipping += skipped
        if key is not None:
            self.key, self.text = key, []

    def handle_endtag(self, tag: str) -> None:
        if all(t != tag for t, _, _ in self.open):
            return  # a stray end tag
        while True:
            name, skipped, starts = self.open.pop()
            self.skipping -= skipped
            if starts and self.key is not None:
                text = " ".join(unicodedata.normalize("NFC", "".join(self.text)).split())
                if text:
                    self.found.append((self.key, text))
                self.key = None
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.key is not None and not self.skipping:
            self.text.append(data)


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a language, where it came from, and the unit that decides its split."""

    unit: str
    key: str
    text: str


def split_of(unit: str) -> Split:
    """Return the split of a unit (help file, chapter) from a stable hash of its name.

    A hash rather than every k-th unit, so that a new package version adding or
    dropping units moves no other unit across the splits.
    """
    digest = hashlib.sha256(unit.encode()).digest()
    return "evaluate" if int.from_bytes(digest[:8], "big") % EVALUATE_ONE_IN == 0 else "identify"


def write_corpus(folder: Path, lang: str, paragraphs: Iterable[Paragraph], origin: str) -> None:
    """Write ``lang``'s paragraphs to ``folder/<lang>.json``, split by their units.

    A text that occurs more than once (boilerplate such as "Related Topics") is kept
    once, in identify when any of its units is there, so no evaluate text is ever
    identified on. The file holds ``source`` (``origin``), the ``identify`` and
    ``evaluate`` lists, and ``keys``: each paragraph's place in the package, per split.
    """
    by_split: dict[Split, list[Paragraph]] = {"identify": [], "evaluate": []}
    for paragraph in paragraphs:
        by_split[split_of(paragraph.unit)].append(paragraph)
    seen: set[str] = set()
    data: dict[str, object] = {"source": origin}
    keys: dict[str, list[str]] = {}
    for split, rows in by_split.items():
        kept = []
        for paragraph in rows:
            if paragraph.text not in seen:
                seen.add(paragraph.text)
                kept.append(paragraph)
        data[split] = [p.text for p in kept]
        keys[split] = [p.key for p in kept]
    data["keys"] = keys
    atomic_write_text(folder / f"{lang}.json", json.dumps(data, ensure_ascii=False))


def read_corpus(
    folder: Path, source: str, languages: Collection[str], lang: str, split: Split
) -> list[str]:
    """Return the paragraphs of ``lang`` in ``split`` as :func:`write_corpus` wrote them.

    Raises:
        MissingResourceError: the source has no ``lang``, or it is not prepared.
        FormatError: the prepared file has no such split.
    """
    if lang not in languages:
        raise MissingResourceError(
            f"the {source} source has no '{lang}' (it has {', '.join(sorted(languages))}); "
            "use another source"
        )
    path = folder / f"{lang}.json"
    if not path.is_file():
        raise MissingResourceError(
            f"{source} text for '{lang}' is not prepared ({path} missing): "
            f"run `langneurons prepare --source {source}`"
        )
    data = load_json(path, f"prepared {source} text")
    if not isinstance(data, dict) or not isinstance(data.get(split), list):
        raise FormatError(
            f"prepared {source} text {path} has no '{split}' list; delete {folder} and run "
            f"`langneurons prepare --source {source}` again"
        )
    return [str(paragraph) for paragraph in data[split]]
