"""GPT-NeoX (Pythia): ``dense_4h_to_h(act(dense_h_to_4h(x)))``; the site is ``mlp.act``."""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="gpt_neox",
        layer="gpt_neox.layers.{i}",
        site="gpt_neox.layers.{i}.mlp.act",
        final_norm="gpt_neox.final_layer_norm",
        unembed="lm_head",
        width=lambda config: int(config.intermediate_size),
    ),
    "GPTNeoXForCausalLM",
)
