"""LLaMA-style gated MLPs: ``down(act_fn(gate(x)) * up(x))``; the site is ``mlp.act_fn``.

Also Mistral, Qwen2, Qwen3 and OLMo-2, whose decoder layers have the same layout.
"""

from __future__ import annotations

from langneurons.architecture import Architecture, register

LLAMA = Architecture(
    family="llama",
    site="model.layers.{i}.mlp.act_fn",
    final_norm="model.norm",
    unembed="lm_head",
    width=lambda config: int(config.intermediate_size),
)

register(LLAMA, "LlamaForCausalLM")
register(
    Architecture("mistral", LLAMA.site, LLAMA.final_norm, LLAMA.unembed, LLAMA.width),
    "MistralForCausalLM",
)
register(
    Architecture("qwen2", LLAMA.site, LLAMA.final_norm, LLAMA.unembed, LLAMA.width),
    "Qwen2ForCausalLM",
)
register(
    Architecture("qwen3", LLAMA.site, LLAMA.final_norm, LLAMA.unembed, LLAMA.width),
    "Qwen3ForCausalLM",
)
register(
    Architecture("olmo2", LLAMA.site, LLAMA.final_norm, LLAMA.unembed, LLAMA.width),
    "Olmo2ForCausalLM",
)
