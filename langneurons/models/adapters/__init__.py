"""Adapters for each supported model family; importing this package registers them."""

from langneurons.models.adapters import bloom, falcon, gemma, gpt2, gpt_neox, llama, opt, phi3

__all__ = ["bloom", "falcon", "gemma", "gpt2", "gpt_neox", "llama", "opt", "phi3"]
