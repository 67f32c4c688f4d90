"""Zhang et al. 2025 reproduces the published mask neuron for neuron, lambda included.

The expected mask is the authors' own output, published with their statistics:
``masks/mask.Mistral-…`` (List[List[LongTensor]], languages en, ru, es, fr, de,
zh, ja, bn, th, sw), made with top_rate 0.01, activation bar 0.95 and the lambda
their binary search found, 0.109375.
"""

import pytest

from langneurons.neurons.comparison import layer_totals
from langneurons.neurons.identification import categories, identify
from langneurons.neurons.importers import MGSM_LANGUAGES as LANGS
from langneurons.neurons.importers import MGSM_TAG as TAG
from langneurons.neurons.importers import mgsm_mask, mgsm_statistics
from langneurons.neurons.phases import PHASES, locate


@pytest.fixture(scope="module")
def stats(reference):
    return mgsm_statistics(reference)


@pytest.fixture(scope="module")
def published(reference):
    return mgsm_mask(reference)


def test_automatic_lambda_is_the_published_one_and_the_mask_equals_the_published_mask(
    stats, published
):
    found = identify("zhang2025", stats)
    assert found.method.params["xlambda"] == 0.109375
    for lang in LANGS:
        assert dict(found.languages[lang]) == published[lang], lang


def test_a_lambda_one_step_off_gives_another_mask(stats, published):
    off = identify("zhang2025", stats, {"xlambda": 0.109375 + 1e-3})
    assert any(dict(off.languages[lang]) != published[lang] for lang in LANGS)


def test_categories_split_specific_from_related(stats):
    found = identify("zhang2025", stats)
    for lang in LANGS:
        specific = found.categories["specific"].get(lang, {})
        related = found.categories["related"].get(lang, {})
        for layer, neurons in found.languages[lang].items():
            assert sorted(specific.get(layer, ()) + related.get(layer, ())) == list(neurons)
    assert sum(found.count(lang) for lang in LANGS) > sum(
        len(idx) for layers in found.categories["specific"].values() for idx in layers.values()
    )


def test_command_line_import_stats_then_identify_gives_the_published_mask(
    reference, published, tmp_path
):
    import json

    from langneurons.run.cli import main

    folder = reference / "lna-2025-mistral-7b-mgsm" / "activations"
    stats_file = tmp_path / "mgsm.safetensors"
    assert (
        main(
            [
                "import-stats",
                "--full",
                str(folder / f"activation.{{lang}}.{TAG}.pt"),
                "--prefix",
                str(folder / f"prefix.activation.{{lang}}.{TAG}.pt"),
                "--languages",
                ",".join(LANGS),
                "--model",
                "mistral-7b-mgsm",
                "--shape",
                "32x14336",
                "--out",
                str(stats_file),
            ]
        )
        == 0
    )
    out = tmp_path / "zhang.json"
    assert (
        main(["identify", "--method", "zhang2025", "--stats", str(stats_file), "--out", str(out)])
        == 0
    )
    data = json.loads(out.read_text())
    assert data["method"]["params"]["xlambda"] == 0.109375
    got = {
        lang: {int(i): tuple(v) for i, v in layers.items()}
        for lang, layers in data["languages"].items()
    }
    assert got == published
    assert set(data["categories"]) == {"specific", "related"}


def test_the_published_mask_shows_the_four_phases_the_paper_describes(published):
    split = categories(published)
    per_layer = {
        name: [
            len({(layer, n) for ls in chosen.values() for n in ls.get(layer, ())})
            for layer in range(32)
        ]
        for name, chosen in split.items()
    }
    phases = locate(layer_totals(per_layer))
    assert phases.matches_paper
    assert [phases.label(p) for p in PHASES] == ["0-4", "5-17", "18-29", "30-31"]
