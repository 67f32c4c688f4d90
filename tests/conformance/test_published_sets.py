"""The importer reads every published LAPE neuron set (Tang et al. 2024)."""

import pytest

from langneurons.neurons import importers, neuron_set
from langneurons.records import ModelIdentity
from langneurons.run.cli import main

SHAPES = {
    "LLaMA-2-7B": (32, 11008),
    "LLaMA-2-13B": (40, 13824),
    "LLaMA-2-70B": (80, 28672),
    "BLOOM-7B": (30, 16384),
    "Mistral-7B": (32, 14336),
    "OPT-6.7B": (32, 16384),
    "Phi-2-2.7B": (32, 10240),
}
SEVEN = ["en", "zh", "fr", "es", "vi", "id", "ja"]


def model(name):
    layers, width = SHAPES[name]
    return ModelIdentity(name=name, num_layers=layers, neurons_per_layer=width)


def test_llama_2_7b_chinese_layer_4_is_the_readme_example(reference):
    path = reference / "lape-2024" / "LLaMA-2-7B.neuron.pth"
    imported = importers.import_published(
        path, SEVEN, model("LLaMA-2-7B"), "model.layers.{i}.mlp.act_fn"
    )
    assert imported.languages["zh"][4] == (6147, 9114, 9292)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_published_set_imports_with_its_shape(reference, name, tmp_path):
    import torch

    path = reference / "lape-2024" / f"{name}.neuron.pth"
    languages = SEVEN[: len(torch.load(path))]
    out = tmp_path / "set.json"
    layers, width = SHAPES[name]
    code = main(
        [
            "import-neurons",
            str(path),
            "--languages",
            ",".join(languages),
            "--model",
            name,
            "--shape",
            f"{layers}x{width}",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    loaded = neuron_set.load(out)
    assert list(loaded.languages) == languages
    assert all(loaded.count(lang) > 0 for lang in languages)


def test_wrong_number_of_languages_is_a_one_line_error(reference, tmp_path, capsys):
    path = reference / "lape-2024" / "LLaMA-2-7B.neuron.pth"
    code = main(
        [
            "import-neurons",
            str(path),
            "--languages",
            "en,zh",
            "--model",
            "llama-2-7b",
            "--shape",
            "32x11008",
            "--out",
            str(tmp_path / "x.json"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "holds 7 languages but 2 codes were given" in err and "\n" not in err
    assert not (tmp_path / "x.json").exists()


def test_a_set_for_another_shape_is_rejected_with_both_shapes(reference):
    path = reference / "lape-2024" / "LLaMA-2-7B.neuron.pth"
    with pytest.raises(Exception, match="neuron 1[0-9]{4} is out of range 0..10239"):
        importers.import_published(path, SEVEN, model("Phi-2-2.7B"), "x")
