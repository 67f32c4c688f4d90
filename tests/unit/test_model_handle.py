"""Model specs resolve cheaply, or fail at once with what to do."""

import time

import pytest

from langneurons.errors import ConfigError, MissingResourceError
from langneurons.models.handle import model_shape, resolve_model


def test_unknown_alias_suggests_a_close_one():
    with pytest.raises(
        ConfigError, match="unknown model 'gemma-3-27m': did you mean 'gemma-3-270m'\\?"
    ):
        resolve_model("gemma-3-27m")


def test_hub_id_offline_fails_at_once_naming_hf_hub_offline():
    started = time.perf_counter()
    with pytest.raises(
        MissingResourceError, match="HF_HUB_OFFLINE=1 is set.*--model path/to/model"
    ):
        resolve_model("mistralai/Mistral-7B-v0.1")
    assert time.perf_counter() - started < 5


def test_hub_alias_offline_fails_the_same_way():
    with pytest.raises(MissingResourceError, match="HF_HUB_OFFLINE"):
        resolve_model("llama-2-7b")


def test_local_folder_resolves_with_a_content_revision(tiny_model_folder):
    source = resolve_model(str(tiny_model_folder))
    assert source.folder == tiny_model_folder.resolve()
    assert source.revision.startswith("local-sha256:")
    assert source.revision == resolve_model(str(tiny_model_folder)).revision
    shape = model_shape(source)
    assert (shape.architecture, shape.num_layers, shape.neurons_per_layer) == (
        "LlamaForCausalLM",
        2,
        24,
    )


def test_revision_is_only_for_hub_ids(tiny_model_folder):
    with pytest.raises(ConfigError, match="--revision applies to Hugging Face ids only"):
        resolve_model(str(tiny_model_folder), revision="main")


def test_folder_without_config(tmp_path):
    with pytest.raises(ConfigError, match="has no config.json"):
        resolve_model(str(tmp_path))


def test_processes_preparing_one_model_at_once_convert_it_once(monkeypatch, tmp_path):
    """pytest-xdist workers and torchrun ranks all prepare on start: one converts, one waits."""
    import threading

    from langneurons.models import gguf

    monkeypatch.setattr(gguf, "models_dir", lambda: tmp_path)
    package = gguf.GgufPackage("m", "m-gguf", "m_gguf", "m.gguf", False, "MIT")
    converted = []

    def convert(package, folder):
        converted.append(folder)
        time.sleep(0.2)  # the other caller arrives while this one converts
        folder.mkdir()
        (folder / gguf.SOURCE_FILE).write_text("{}")

    monkeypatch.setattr(gguf, "_convert", convert)
    callers = [threading.Thread(target=gguf.prepare, args=(package,)) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert converted == [tmp_path / "m"]
