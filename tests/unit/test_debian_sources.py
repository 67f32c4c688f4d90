"""The Debian sources on fixture .deb files built here: reading, extraction, splits, bad input."""

import hashlib
import io
import json
import lzma
import tarfile
import urllib.error

import pytest

from langneurons.errors import ConfigError, FormatError, MissingResourceError
from langneurons.run.cli import main
from langneurons.text import debian
from langneurons.text.corpus import CorpusSpec, paragraphs, source
from langneurons.text.sources import debian_handbook, libreoffice_help

HELP = "usr/share/libreoffice/help/{dir}/text/{page}"
BOOK = "usr/share/doc/debian-handbook/html/{dir}/{page}"


def tar(files, mode="w:xz"):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def ar(members):
    """An ar archive as dpkg writes one: a header of fixed-width fields, even offsets."""
    out = [b"!<arch>\n"]
    for name, data in members:
        out.append(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode())
        out.append(data + b"\n" * (len(data) % 2))
    return b"".join(out)


def deb(path, files, package="fixture", data_member="data.tar.xz", data=None):
    """Write a .deb of the same shape as Debian's: debian-binary, control.tar.xz, data.tar.xz."""
    control = tar({"./control": f"Package: {package}\nVersion: 1:2.0-1\nArchitecture: all\n"})
    payload = tar({f"./{name}": text for name, text in files.items()}) if data is None else data
    path.write_bytes(
        ar([("debian-binary", b"2.0\n"), ("control.tar.xz", control), (data_member, payload)])
    )
    return path


def help_page(body):
    return (
        '<!DOCTYPE html><html><head><script>var p = "<p id=\\"par_id0\\">no</p>";</script></head>'
        '<body><header><p dir="auto">Help for LibreOffice</p></header>'
        f'<div id="DisplayArea">{body}</div>'
        '<footer><p id="bm_module"></p><p dir="auto">This page is: x.xhp</p></footer></body></html>'
    )


def units(split, count=1, pattern="text/shared/page{}.html"):
    """Names that debian.split_of puts in ``split`` (found, not assumed: the hash decides)."""
    names = (pattern.format(i) for i in range(1000))
    return [n for n in names if debian.split_of(n) == split][:count]


def test_help_page_text_loses_markup_code_embedded_and_hidden_variants():
    page = help_page(
        '<h1 id="hd_id1">Adding <span class="emph">Exceptions</span></h1>'
        '<p id="par_id2" class="paragraph">Press <span class="switchinline">'
        '<span hidden="true" id="MACx" class="MAC">Command</span>'
        '<span hidden="true" id="defaultx">Ctrl</span></span>+Z &amp; go.</p>'
        '<p id="par_id3" class="code">Dim a As Integer</p>'
        '<div class="bascode"><p id="par_id4">Sub Main</p></div><pre>End Sub</pre>'
        '<div class="embedded"><p id="par_id5">Embedded from another page.</p></div>'
        '<p id="par_id6"><img src="x.png"></p>'
        '<p id="par_id2">The same id again.</p>'
        '<p class="related">Related Topics</p>'
    )
    assert libreoffice_help.parse_page(page) == [
        ("hd_id1", "Adding Exceptions"),
        ("par_id2", "Press Ctrl+Z & go."),
    ]


def test_help_drops_untranslated_paragraphs_and_aligns_by_file_and_id(tmp_path):
    page, other = sorted(units("identify", 2))
    english = {
        HELP.format(dir="en-US", page=page.removeprefix("text/")): help_page(
            '<h1 id="hd_id1">Undo</h1><p id="par_id2">Press Ctrl+Z.</p>'
            '<p id="par_id3">Choose Tools.</p>'
        ),
        HELP.format(dir="en-US", page=other.removeprefix("text/")): help_page(
            '<p id="par_id1">Another page.</p>'
        ),
    }
    german = {
        HELP.format(dir="de", page=page.removeprefix("text/")): help_page(
            '<h1 id="hd_id1">Rückgängig</h1><p id="par_id2">Drücken Sie Strg+Z.</p>'
            '<p id="par_id3">Choose Tools.</p>'
        ),
        HELP.format(dir="de", page=other.removeprefix("text/")): help_page(
            '<p id="par_id1">Eine andere Seite.</p>'
        ),
    }
    debs = {
        "en": deb(tmp_path / "en.deb", english, "libreoffice-help-en-us"),
        "de": deb(tmp_path / "de.deb", german, "libreoffice-help-de"),
    }
    libreoffice_help.parse_packages(debs, tmp_path / "out")
    en = json.loads((tmp_path / "out" / "en.json").read_text())
    de = json.loads((tmp_path / "out" / "de.json").read_text())
    assert de["identify"] == ["Rückgängig", "Drücken Sie Strg+Z.", "Eine andere Seite."]
    assert en["identify"] == ["Undo", "Press Ctrl+Z.", "Choose Tools.", "Another page."]
    english_by_key = dict(zip(en["keys"]["identify"], en["identify"], strict=True))
    aligned = {
        english_by_key[key]: text
        for key, text in zip(de["keys"]["identify"], de["identify"], strict=True)
    }
    assert aligned == {
        "Undo": "Rückgängig",
        "Press Ctrl+Z.": "Drücken Sie Strg+Z.",
        "Another page.": "Eine andere Seite.",
    }
    assert de["keys"]["identify"][1] == f"{page}#par_id2"
    assert de["source"] == "libreoffice-help-de 1:2.0-1"
    assert (tmp_path / "out" / "DONE").read_text().splitlines() == [
        "libreoffice-help-en-us 1:2.0-1",
        "libreoffice-help-de 1:2.0-1",
    ]


def test_help_splits_are_disjoint_by_file_and_repeated_text_stays_in_identify(tmp_path):
    (held_in,) = units("identify")
    (held_out,) = units("evaluate")
    pages = {
        HELP.format(dir="en-US", page=held_in.removeprefix("text/")): help_page(
            '<p id="par_id1">Identify me.</p><p id="par_id2">Related Topics</p>'
        ),
        HELP.format(dir="en-US", page=held_out.removeprefix("text/")): help_page(
            '<p id="par_id1">Evaluate me.</p><p id="par_id2">Related Topics</p>'
            '<p id="par_id3">Evaluate me.</p>'
        ),
    }
    libreoffice_help.parse_packages({"en": deb(tmp_path / "en.deb", pages)}, tmp_path / "out")
    en = json.loads((tmp_path / "out" / "en.json").read_text())
    assert en["identify"] == ["Identify me.", "Related Topics"]
    assert en["evaluate"] == ["Evaluate me."]
    assert {k.partition("#")[0] for k in en["keys"]["identify"]} == {held_in}
    assert {k.partition("#")[0] for k in en["keys"]["evaluate"]} == {held_out}


def book_page(body, up=None):
    link = f'<link rel="up" href="{up}" title="x" />' if up else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<html xmlns="http://www.w3.org/1999/xhtml"><head>{link}</head><body>'
        '<ul class="docnav top"><li class="next"><a accesskey="n" href="x.html"><strong>Next</strong></a></li></ul>'
        f'<div class="section">{body}</div></body></html>'
    )


def test_handbook_chapters_follow_up_links_to_the_title_page():
    pages = {
        "index.html": book_page(""),
        "apt.html": book_page("", up="index.html"),
        "sect.apt-get.html": book_page("", up="apt.html"),
        "sect.apt-get-nested.html": book_page("", up="sect.apt-get.html"),
        "sect.loop.html": book_page("", up="sect.loop.html"),
    }
    assert debian_handbook.chapters_of(pages) == {
        "index.html": "index.html",
        "apt.html": "apt.html",
        "sect.apt-get.html": "apt.html",
        "sect.apt-get-nested.html": "apt.html",
        "sect.loop.html": "sect.loop.html",
    }


def test_handbook_splits_by_chapter_and_drops_untranslated_paragraphs(tmp_path):
    (kept,) = units("identify", pattern="chapter-{}.html")
    (held_out,) = units("evaluate", pattern="chapter-{}.html")

    def book(title, para, untranslated_link):
        return {
            kept: book_page(
                f'<h2 class="title">{title}</h2><div class="para">{para}'
                '<div class="url">→ https://www.debian.org/</div></div>'
                '<pre class="screen">$ apt update</pre>',
                up="index.html",
            ),
            f"sect.{kept}": book_page(
                '<div class="para">Section text, see '
                f'<a class="xref" href="{held_out}">{untranslated_link}</a>.</div>',
                up=kept,
            ),
            held_out: book_page('<div class="para">Held-out chapter.</div>', up="index.html"),
        }

    english = book("1. APT", "APT is <code>great</code>.", "Chapter 2, Two")
    german = book("1. APT", "APT ist <code>großartig</code>.", "Kapitel 2, Zwei")
    files = {BOOK.format(dir="en-US", page=p): text for p, text in english.items()}
    files |= {BOOK.format(dir="de-DE", page=p): text for p, text in german.items()}
    files[BOOK.format(dir="de-DE", page="Common_Content/x.html")] = "not a page of the book"
    debian_handbook.parse_package(deb(tmp_path / "book.deb", files, "debian-handbook"), tmp_path)
    en = json.loads((tmp_path / "en.json").read_text())
    de = json.loads((tmp_path / "de.json").read_text())
    assert en["identify"] == ["1. APT", "APT is great.", "Section text, see Chapter 2, Two."]
    assert en["evaluate"] == ["Held-out chapter."]
    # the title and the section (its link translated, its text not) equal English: dropped
    assert de["identify"] == ["APT ist großartig."]
    assert de["evaluate"] == []
    assert de["keys"]["identify"] == [f"{kept}#1"]
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["de.json", "en.json"]


def test_sources_are_registered_offline_with_a_prepare_step():
    for name in (libreoffice_help.NAME, debian_handbook.NAME):
        found = source(CorpusSpec(name))
        assert found.offline and found.prepare is not None


def test_unprepared_or_missing_language_says_what_to_do():
    with pytest.raises(
        MissingResourceError, match="run `langneurons prepare --source libreoffice-help`"
    ):
        paragraphs(CorpusSpec(libreoffice_help.NAME), "de", "identify")
    with pytest.raises(MissingResourceError, match="has no 'sw'.*ar, ca"):
        paragraphs(CorpusSpec(debian_handbook.NAME), "sw", "identify")


def test_prepare_refuses_an_unknown_source_before_any_model(capsys):
    assert main(["prepare", "--source", "libreoffice-hlep"]) == 2
    error = capsys.readouterr().err
    assert "did you mean 'libreoffice-help'" in error and error.count("\n") == 1


def one_line_format_error(path, match):
    with pytest.raises(FormatError, match=match) as caught:
        debian.read_deb(path, lambda name: True)
    assert "\n" not in str(caught.value) and "delete it" in str(caught.value)


def test_a_member_named_outside_the_package_refuses_the_file(tmp_path):
    for name in ("../../etc/cron.d/evil", "/etc/passwd", "./usr/../../x"):
        payload = tar({"./usr/share/ok.html": "fine", name: "evil"})
        path = deb(tmp_path / "evil.deb", {}, data=payload)
        one_line_format_error(path, "points outside the package")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"PK\x03\x04 a zip file", "not an ar archive", id="not-ar"),
        pytest.param(ar([("debian-binary", b"2.0\n")])[:-3], "runs past the end", id="truncated"),
        pytest.param(b"!<arch>\n" + b"x" * 70, "bad ar header", id="bad-header"),
        pytest.param(
            ar(
                [
                    ("debian-binary", b"2.0\n"),
                    ("control.tar.xz", tar({"./control": "Package: p\nVersion: 1\n"})),
                ]
            ),
            "0 data.tar members",
            id="no-data",
        ),
    ],
)
def test_a_malformed_deb_is_a_one_line_error(tmp_path, content, match):
    path = tmp_path / "bad.deb"
    path.write_bytes(content)
    one_line_format_error(path, match)


def test_a_broken_or_zstd_data_member_is_a_one_line_error(tmp_path):
    broken = tar({"./usr/x.html": "x" * 5000})[:-20]
    one_line_format_error(deb(tmp_path / "broken.deb", {}, data=broken), "data.tar.xz")
    zstd = deb(tmp_path / "zstd.deb", {}, data_member="data.tar.zst", data=b"\x28\xb5\x2f\xfd")
    one_line_format_error(zstd, "neither xz nor gz")
    one_line_format_error(deb(tmp_path / "latin1.deb", {}, data=_latin1_tar()), "not UTF-8")


def _latin1_tar():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        info = tarfile.TarInfo("./usr/x.html")
        info.size = 4
        archive.addfile(info, io.BytesIO("café".encode("latin-1")))
    return buffer.getvalue()


def test_read_deb_reads_gz_data_and_skips_links_and_unwanted_files(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in {"./usr/a.html": "a", "./usr/b.txt": "b"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text.encode()))
        link = tarfile.TarInfo("./usr/c.html")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    path = deb(
        tmp_path / "gz.deb", {}, package="gz", data_member="data.tar.gz", data=buffer.getvalue()
    )
    package = debian.read_deb(path, lambda name: name.endswith(".html"))
    assert (package.name, package.version, package.texts) == ("gz", "1:2.0-1", {"usr/a.html": "a"})


def no_network(monkeypatch, reachable=None):
    """apt-get absent; urlopen serves ``reachable`` (url -> bytes) and fails for the rest."""
    monkeypatch.setattr(debian.shutil, "which", lambda name: None)

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(url, timeout):
        if reachable and url in reachable:
            return Response(reachable[url])
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(debian.urllib.request, "urlopen", urlopen)


def test_fetch_without_apt_or_network_names_both_ways_in_one_line(monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(MissingResourceError) as caught:
        debian.fetch(["debian-handbook"])
    message = str(caught.value)
    assert "\n" not in message
    assert (
        "apt-get" in message and debian.MIRROR in message and str(debian.packages_dir()) in message
    )


def test_fetch_uses_a_deb_put_in_the_folder_by_hand(monkeypatch):
    no_network(monkeypatch)
    folder = debian.packages_dir()
    folder.mkdir(parents=True)
    given = deb(folder / "debian-handbook_11.20220922_all.deb", {})
    assert debian.fetch(["debian-handbook"]) == {"debian-handbook": given}
    deb(folder / "debian-handbook_12.0_all.deb", {})
    with pytest.raises(ConfigError, match="delete all but one"):
        debian.fetch(["debian-handbook"])


def test_fetch_from_the_mirror_checks_the_index_sha256(monkeypatch, tmp_path):
    data = deb(tmp_path / "x.deb", {}, package="debian-handbook").read_bytes()
    filename = "pool/main/d/debian-handbook/debian-handbook_11_all.deb"
    index_url = f"{debian.MIRROR}/dists/{debian.SUITE}/main/binary-all/Packages.xz"

    def serve(sha256):
        stanza = f"Package: other\nFilename: x\n\nPackage: debian-handbook\nVersion: 11\nFilename: {filename}\nSize: {len(data)}\nSHA256: {sha256}\n"
        no_network(
            monkeypatch,
            {index_url: lzma.compress(stanza.encode()), f"{debian.MIRROR}/{filename}": data},
        )

    serve("0" * 64)
    with pytest.raises(MissingResourceError, match="does not match its SHA256"):
        debian.fetch(["debian-handbook"])
    serve(hashlib.sha256(data).hexdigest())
    fetched = debian.fetch(["debian-handbook"])["debian-handbook"]
    assert fetched == debian.packages_dir() / "debian-handbook_11_all.deb"
    assert fetched.read_bytes() == data
    assert [p.name for p in debian.packages_dir().iterdir()] == ["debian-handbook_11_all.deb"]


@pytest.mark.parametrize("module", [libreoffice_help, debian_handbook], ids=lambda m: m.NAME)
def test_prepared_sources_split_disjointly_by_unit(monkeypatch, module):
    from tests.conftest import REAL_CACHE

    monkeypatch.setenv("LANGNEURONS_CACHE", str(REAL_CACHE))
    if not (module.folder() / "DONE").is_file():
        pytest.skip(f"{module.NAME} not prepared under {REAL_CACHE} (langneurons prepare --source)")
    for lang in ["en", "de", "ru", "zh", "ja"]:
        data = json.loads((module.folder() / f"{lang}.json").read_text())
        units = {s: {key.partition("#")[0] for key in data["keys"][s]} for s in data["keys"]}
        assert not set(data["identify"]) & set(data["evaluate"])
        assert len(data["identify"]) > 1000 and len(data["evaluate"]) > 400
        if module is libreoffice_help:  # help files are the units; handbook pages go by chapter
            assert not units["identify"] & units["evaluate"]
