"""Text sources: UDHR parsing and splits, local files, hub sources on a local fixture."""

import io
import json
import tarfile
from pathlib import Path

import pytest

from langneurons.errors import ConfigError, FormatError, MissingResourceError
from langneurons.run.cli import DEFAULT_SOURCES, _parser
from langneurons.run.session import RunOptions
from langneurons.tasks.spec import load_task
from langneurons.text.corpus import CorpusSpec, identification, paragraphs, source
from langneurons.text.languages import LANGUAGES
from langneurons.text.sources import udhr

TASKS = Path(__file__).resolve().parents[2] / "tasks"

DECLARATION = """<!doctype html><html lang="de"><body>
<h1>Allgemeine Erklärung</h1>
<header><h2>Präambel</h2><p>Da die Anerkennung   der angeborenen Würde</p><p>Da die Nichtanerkennung</p></header>
<article data-number="1"><h2>Artikel 1</h2><p>Alle Menschen sind frei.</p></article>
<article data-number="19"><h2>Artikel 19</h2><p>Jeder hat das Recht auf Meinungsfreiheit.</p></article>
<article data-number="30"><h2>Artikel 30</h2><p>Keine Bestimmung.</p></article>
</body></html>"""


def test_declaration_paragraphs_carry_their_article():
    assert udhr.parse_declaration(DECLARATION) == [
        (0, "Da die Anerkennung der angeborenen Würde"),
        (0, "Da die Nichtanerkennung"),
        (1, "Alle Menschen sind frei."),
        (19, "Jeder hat das Recht auf Meinungsfreiheit."),
        (30, "Keine Bestimmung."),
    ]


def tarball(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/declaration/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_archive_splits_are_disjoint_preamble_to_18_and_19_to_30(tmp_path):
    udhr.parse_archive(tarball({"deu_1996.html": DECLARATION}), tmp_path)
    data = json.loads((tmp_path / "de.json").read_text())
    assert data["identify"] == [
        "Da die Anerkennung der angeborenen Würde",
        "Da die Nichtanerkennung",
        "Alle Menschen sind frei.",
    ]
    assert data["evaluate"] == ["Jeder hat das Recht auf Meinungsfreiheit.", "Keine Bestimmung."]
    assert (tmp_path / "DONE").is_file()


def test_unprepared_udhr_says_how_to_prepare():
    with pytest.raises(MissingResourceError, match="run `langneurons prepare`"):
        paragraphs(CorpusSpec("udhr"), "de", "evaluate")


def test_prepared_udhr_has_every_default_language_aligned(monkeypatch):
    from tests.conftest import REAL_CACHE

    monkeypatch.setenv("LANGNEURONS_CACHE", str(REAL_CACHE))
    if not (udhr.folder() / "DONE").is_file():
        pytest.skip(f"UDHR not prepared under {REAL_CACHE} (make setup prepares it)")
    for lang in ["en", "de", "fr", "es", "ru", "zh", "ja", "vi", "id"]:
        identify = paragraphs(CorpusSpec("udhr"), lang, "identify")
        evaluate = paragraphs(CorpusSpec("udhr"), lang, "evaluate")
        assert len(identify) >= 30 and len(evaluate) >= 15
        assert not set(identify) & set(evaluate)


def test_every_language_with_a_udhr_code_names_one(tmp_path):
    codes = [info.udhr for info in LANGUAGES.values() if info.udhr]
    assert len(codes) == len(set(codes))


def test_text_and_jsonl_sources(tmp_path):
    (tmp_path / "de.identify.txt").write_text("Erster  Absatz\nweiter.\n\n\nZweiter Absatz.\n")
    assert paragraphs(
        CorpusSpec("text", str(tmp_path / "{lang}.{split}.txt")), "de", "identify"
    ) == [
        "Erster Absatz weiter.",
        "Zweiter Absatz.",
    ]
    (tmp_path / "de.evaluate.jsonl").write_text('{"text": "eins"}\n\n{"text": "zwei"}\n')
    assert paragraphs(
        CorpusSpec("jsonl", str(tmp_path / "{lang}.{split}.jsonl")), "de", "evaluate"
    ) == ["eins", "zwei"]
    (tmp_path / "fr.evaluate.jsonl").write_text('{"txt": "x"}\n')
    with pytest.raises(
        FormatError, match="fr.evaluate.jsonl:1: expected a JSON object with a 'text' field"
    ):
        paragraphs(CorpusSpec("jsonl", str(tmp_path / "{lang}.{split}.jsonl")), "fr", "evaluate")
    with pytest.raises(MissingResourceError, match="no text data for 'zh' \\(identify\\)"):
        paragraphs(CorpusSpec("text", str(tmp_path / "{lang}.{split}.txt")), "zh", "identify")


def test_flores_and_wikipedia_read_a_local_folder_of_the_hub_shape(tmp_path):
    pytest.importorskip("datasets")
    flores = tmp_path / "flores" / "deu_Latn"
    flores.mkdir(parents=True)
    (flores / "dev.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": f"Satz {i}."}) + "\n" for i in range(3))
    )
    (flores / "devtest.jsonl").write_text(json.dumps({"id": 9, "text": "Test."}) + "\n")
    spec = CorpusSpec("flores", str(tmp_path / "flores"))
    assert paragraphs(spec, "de", "identify") == ["Satz 0.", "Satz 1.", "Satz 2."]
    assert paragraphs(spec, "de", "evaluate") == ["Test."]

    wiki = tmp_path / "wiki" / "20231101.de"
    wiki.mkdir(parents=True)
    articles = [
        {"id": str(i), "title": f"T{i}", "text": f"Absatz {i}a.\n\nAbsatz {i}b."} for i in range(4)
    ]
    (wiki / "train.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    spec = CorpusSpec("wikipedia", str(tmp_path / "wiki"))
    assert paragraphs(spec, "de", "identify") == [
        "Absatz 0a.",
        "Absatz 0b.",
        "Absatz 2a.",
        "Absatz 2b.",
    ]
    assert paragraphs(spec, "de", "evaluate") == [
        "Absatz 1a.",
        "Absatz 1b.",
        "Absatz 3a.",
        "Absatz 3b.",
    ]


def test_hub_sources_fail_at_once_offline():
    pytest.importorskip("datasets")
    with pytest.raises(MissingResourceError, match="HF_HUB_OFFLINE=1 is set"):
        paragraphs(CorpusSpec("flores"), "de", "evaluate")


def test_wikipedia_reads_more_articles_when_the_run_asks_for_more_tokens(tmp_path):
    """200 articles per split, and more until the text has 6 characters per token asked for."""
    pytest.importorskip("datasets")
    from langneurons.text.sources.hub import WIKIPEDIA_ARTICLES, WIKIPEDIA_CHARS_PER_TOKEN

    wiki = tmp_path / "wiki" / "20231101.de"
    wiki.mkdir(parents=True)
    rows = [{"id": str(i), "text": f"Absatz {i}."} for i in range(2000)]
    (wiki / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    few = paragraphs(CorpusSpec("wikipedia", str(tmp_path / "wiki")), "de", "evaluate")
    assert few == [f"Absatz {i}." for i in range(1, 2 * WIKIPEDIA_ARTICLES, 2)]
    tokens = 1000
    more = paragraphs(CorpusSpec("wikipedia", str(tmp_path / "wiki"), tokens), "de", "evaluate")
    chars = [len(text) for text in more]
    assert len(more) > WIKIPEDIA_ARTICLES and more[: len(few)] == few
    assert sum(chars[:-1]) < WIKIPEDIA_CHARS_PER_TOKEN * tokens <= sum(chars)


def test_identification_takes_the_given_budget_else_the_sources_own():
    """The Debian sources identify on 30,000 tokens per language unless told; others on all."""
    assert identification("libreoffice-help", None) == CorpusSpec("libreoffice-help", None, 30_000)
    assert identification("debian-handbook", None).tokens == 30_000
    assert identification("libreoffice-help", 500).tokens == 500
    assert identification("udhr", None) == CorpusSpec("udhr")
    assert identification("text:c/{lang}.{split}.txt", None) == CorpusSpec(
        "text", "c/{lang}.{split}.txt"
    )
    with pytest.raises(ConfigError, match="did you mean 'libreoffice-help'"):
        identification("libreoffice-hlep", None)


def test_a_bare_prepare_parses_the_text_of_the_defaults_and_shipped_tasks():
    """What `make setup` prepares is what `make run` reads: no source is missing at run time."""
    read = {load_task(path).fields.data.source for path in sorted(TASKS.glob("*.yaml"))}
    read.add(RunOptions().identify_data)
    assert {name for name in read if source(CorpusSpec(name)).prepare is not None} == set(
        DEFAULT_SOURCES
    )
    identify = _parser().parse_args(["identify", "--out", "lape.json"])
    assert identify.data == RunOptions().identify_data == "libreoffice-help"
