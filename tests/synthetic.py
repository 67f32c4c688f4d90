"""Builders shared by the tests: tiny random-init models of every family, a tokenizer, statistics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

VOCAB = 320

# family -> (config class name, kwargs, path of the down projection fed by the site)
FAMILIES: dict[str, tuple[str, dict, str]] = {
    "llama": ("LlamaConfig", {}, "model.layers.{i}.mlp.down_proj"),
    "mistral": ("MistralConfig", {}, "model.layers.{i}.mlp.down_proj"),
    "qwen2": ("Qwen2Config", {}, "model.layers.{i}.mlp.down_proj"),
    "qwen3": ("Qwen3Config", {"head_dim": 8}, "model.layers.{i}.mlp.down_proj"),
    "olmo2": ("Olmo2Config", {}, "model.layers.{i}.mlp.down_proj"),
    "gemma": ("GemmaConfig", {"head_dim": 8}, "model.layers.{i}.mlp.down_proj"),
    "gemma2": ("Gemma2Config", {"head_dim": 8}, "model.layers.{i}.mlp.down_proj"),
    "gemma3": ("Gemma3TextConfig", {"head_dim": 8}, "model.layers.{i}.mlp.down_proj"),
    "phi3": ("Phi3Config", {}, "model.layers.{i}.mlp.down_proj"),
    "gpt2": (
        "GPT2Config",
        {"n_embd": 16, "n_layer": 2, "n_head": 2},
        "transformer.h.{i}.mlp.c_proj",
    ),
    "bloom": ("BloomConfig", {"n_layer": 2, "n_head": 2}, "transformer.h.{i}.mlp.dense_4h_to_h"),
    "gpt_neox": ("GPTNeoXConfig", {}, "gpt_neox.layers.{i}.mlp.dense_4h_to_h"),
    "falcon": (
        "FalconConfig",
        {"new_decoder_architecture": False},
        "transformer.h.{i}.mlp.dense_4h_to_h",
    ),
    "opt": (
        "OPTConfig",
        {"ffn_dim": 24, "word_embed_proj_dim": 16},
        "model.decoder.layers.{i}.fc2",
    ),
    "xglm": (
        "XGLMConfig",
        {"d_model": 16, "num_layers": 2, "attention_heads": 2, "ffn_dim": 24},
        "model.layers.{i}.fc2",
    ),
}

_COMMON = {
    "vocab_size": VOCAB,
    "hidden_size": 16,
    "intermediate_size": 24,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 1024,  # above every window the tests use (512 for statistics)
}


def tiny_config(family: str):
    import transformers

    name, kwargs, _ = FAMILIES[family]
    cls = getattr(transformers, name)
    accepted = {k: v for k, v in _COMMON.items() if k in cls().to_dict() or hasattr(cls(), k)}
    config = cls(**{**accepted, **kwargs, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2})
    config.vocab_size = VOCAB
    return config


def tiny_model(family: str, seed: int = 0):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(family), dtype=torch.float32)
    return model.eval()


def tiny_tokenizer():
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        [SAMPLE_TEXT[lang] for lang in SAMPLE_TEXT] * 4,
        vocab_size=VOCAB - 4,
        special_tokens=["<s>", "</s>", "<pad>", "<unk>"],
        show_progress=False,
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )


def save_tiny_model(folder: Path, family: str = "llama") -> Path:
    model = tiny_model(family)
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


SAMPLE_TEXT = {
    "en": "All human beings are born free and equal in dignity and rights. They are endowed with reason.",
    "de": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft begabt.",
    "fr": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison.",
    "zh": "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
}


def write_text_corpus(folder: Path, languages=("en", "de", "fr", "zh")) -> str:
    """Write {lang}.{split}.txt files; return the path template."""
    folder.mkdir(parents=True, exist_ok=True)
    for lang in languages:
        for split, repeat in (("identify", 6), ("evaluate", 3)):
            paragraphs = [f"{SAMPLE_TEXT[lang]} {split} {i}" for i in range(repeat)]
            (folder / f"{lang}.{split}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    return str(folder / "{lang}.{split}.txt")


def tiny_neuron_set(folder: Path, model_folder: Path, languages=("en", "de", "fr", "zh")) -> Path:
    """Write a neuron set for the tiny llama model: two neurons per language in layer 1."""
    data = {
        "format": "langneurons.neuron_set/1",
        "model": {
            "name": model_folder.name,
            "source": str(model_folder),
            "revision": None,
            "architecture": "LlamaForCausalLM",
            "num_layers": 2,
            "neurons_per_layer": 24,
        },
        "site": "model.layers.{i}.mlp.act_fn",
        "method": {"name": "handmade", "params": {}},
        "statistics": None,
        "languages": {lang: {"1": [2 * k, 2 * k + 1]} for k, lang in enumerate(languages)},
    }
    path = folder / "set.json"
    path.write_text(json.dumps(data))
    return path


def synthetic_stats(over_zero: torch.Tensor, tokens: list[int], languages: list[str]):
    """ActivationStats from counts [K, layers, neurons]."""
    from langneurons.neurons.statistics import ActivationStats

    k, layers, width = over_zero.shape
    return ActivationStats(
        tuple(languages),
        torch.tensor(tokens, dtype=torch.int64),
        over_zero.to(torch.int64),
        torch.zeros(k, layers, width, dtype=torch.float64),
        torch.zeros(k, layers, width, dtype=torch.float64),
        {
            "model": {
                "name": "synthetic",
                "source": None,
                "revision": None,
                "architecture": "LlamaForCausalLM",
                "num_layers": layers,
                "neurons_per_layer": width,
            },
            "site": "model.layers.{i}.mlp.act_fn",
            "corpus": "synthetic",
            "corpus_sha256": "0" * 64,
        },
    )


#: an ablation task on the text of :func:`write_text_corpus` whose checks always pass
TINY_ABLATION_TASK = """name: {name}
kind: ablation
version: 1
languages: [en, de, fr, zh]
data: {{source: text, split: evaluate, path: "{corpus}"}}
tokens_per_language: 24
window: 12
checks: {{min_own_ratio: 0.0001, max_other_ratio: 1000, max_control_ratio: 1000}}
"""


def model_copy(model_folder: Path, folder: Path, **config) -> Path:
    """A copy of a saved model at ``folder`` with its config's keys replaced by ``config``."""
    shutil.copytree(model_folder, folder)
    data = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**data, **config}))
    return folder


def session_fails(options, message: str) -> None:
    """Building a session with ``options`` fails with one line matching ``message``."""
    import pytest

    from langneurons.errors import LangneuronsError
    from langneurons.run.session import BenchmarkSession

    with pytest.raises(LangneuronsError, match=message) as error:
        BenchmarkSession(options)
    assert "\n" not in str(error.value)
