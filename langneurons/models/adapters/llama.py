"""LLaMA-style gated MLPs: ``down(act_fn(gate(x)) * up(x))``; the site is ``mlp.act_fn``.

Also Mistral, Qwen2, Qwen3 and OLMo-2, whose decoder layers have the same layout.
"""

from __future__ import annotations

from dataclasses import replace

from langneurons.models.architecture import Architecture, register

LLAMA = Architecture(
    family="llama",
    layer="model.layers.{i}",
    site="model.layers.{i}.mlp.act_fn",
    final_norm="model.norm",
    unembed="lm_head",
    width=lambda config: int(config.intermediate_size),
)

register(LLAMA, "LlamaForCausalLM")
register(replace(LLAMA, family="mistral"), "MistralForCausalLM")
register(replace(LLAMA, family="qwen2"), "Qwen2ForCausalLM")
register(replace(LLAMA, family="qwen3"), "Qwen3ForCausalLM")
register(replace(LLAMA, family="olmo2"), "Olmo2ForCausalLM")
