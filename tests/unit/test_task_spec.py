"""Task files: the shipped ones validate; every malformed one fails with file and key."""

from pathlib import Path

import pytest

from langneurons.errors import ConfigError
from langneurons.tasks.spec import load_task

TASKS = sorted(Path(__file__).resolve().parents[2].joinpath("tasks").glob("*.yaml"))
GOOD = Path(__file__).resolve().parents[2] / "tasks" / "ablation_perplexity.yaml"


@pytest.mark.parametrize("path", TASKS, ids=[p.stem for p in TASKS])
def test_shipped_task_validates(path):
    task = load_task(path)
    assert task.name == path.stem
    assert len(task.sha256) == 64


def write(tmp_path, text):
    path = tmp_path / "task.yaml"
    path.write_text(text)
    return path


def variant(tmp_path, old, new):
    return write(tmp_path, GOOD.read_text().replace(old, new))


def test_unknown_check_key_names_the_allowed_keys(tmp_path):
    path = variant(tmp_path, "min_own_ratio:", "min_own_ratoi:")
    with pytest.raises(
        ConfigError,
        match=r"task.yaml: checks: unknown key 'min_own_ratoi' \(allowed: use_bound, min_own_ratio, max_other_ratio, max_control_ratio\)",
    ):
        load_task(path)


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, GOOD.read_text() + "colour: blue\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_task(path)


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "name: x\nkind: ablation\nlanguages: [en, de\n")
    with pytest.raises(ConfigError, match="task.yaml: line .* malformed YAML"):
        load_task(path)


def test_unknown_language(tmp_path):
    path = variant(tmp_path, "[en, de,", "[en, deu,")
    with pytest.raises(ConfigError, match="unknown language 'deu'"):
        load_task(path)


def test_unknown_kind_suggests(tmp_path):
    path = variant(tmp_path, "kind: ablation", "kind: ablaton")
    with pytest.raises(ConfigError, match="unknown task kind 'ablaton'; did you mean 'ablation'"):
        load_task(path)


def test_unknown_data_source(tmp_path):
    path = variant(tmp_path, "source: libreoffice-help", "source: libreoffice-hlep")
    message = "unknown data source 'libreoffice-hlep'; did you mean 'libreoffice-help'"
    with pytest.raises(ConfigError, match=message):
        load_task(path)


def test_wrong_type_names_the_key(tmp_path):
    path = variant(tmp_path, "tokens_per_language: 512", "tokens_per_language: many")
    with pytest.raises(ConfigError, match="tokens_per_language: Input should be a valid integer"):
        load_task(path)


def test_missing_key(tmp_path):
    path = variant(tmp_path, "checks:", "chocks:")
    with pytest.raises(ConfigError, match="unknown key 'chocks'|missing key 'checks'"):
        load_task(path)


def test_spec_hash_ignores_comments_and_formatting(tmp_path):
    path = write(tmp_path, "# another comment\n" + GOOD.read_text())
    assert load_task(path).sha256 == load_task(GOOD).sha256


def test_langs_filter_keeps_task_order_and_rejects_empty():
    task = load_task(GOOD)
    assert task.with_languages(["zh", "en"]).languages == ["en", "zh"]
    with pytest.raises(ConfigError, match="leaves no language"):
        task.with_languages(["sw"])


LATENT = GOOD.with_name("latent_language.yaml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[fr>zh,", "[fr>fr,", "'fr>fr' is not a pair of two languages"),
        ("[fr>zh,", "[fr>vi,", "cell language 'vi' is not among the languages"),
        ("source: concepts", "source: udhr", "data.source must be 'concepts'"),
    ],
)
def test_latent_cells_are_checked(tmp_path, old, new, message):
    path = write(tmp_path, LATENT.read_text().replace(old, new))
    with pytest.raises(ConfigError, match=message):
        load_task(path)


def test_latent_cells_follow_the_langs_filter():
    from langneurons.tasks.protocol import task_kind

    task = load_task(LATENT).with_languages(["en", "fr", "zh"])
    assert [c.id for c in task_kind("latent").cells(task)] == [
        "translation[fr>zh]",
        "translation[zh>en]",
        "repetition[zh]",
        "repetition[fr]",
        "cloze[zh]",
        "cloze[fr]",
        "probe[language]",
    ]
