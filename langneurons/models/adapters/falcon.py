"""Falcon: ``dense_4h_to_h(act(dense_h_to_4h(x)))``; the site is ``mlp.act``."""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="falcon",
        layer="transformer.h.{i}",
        site="transformer.h.{i}.mlp.act",
        final_norm="transformer.ln_f",
        unembed="lm_head",
        width=lambda config: int(config.ffn_hidden_size),
    ),
    "FalconForCausalLM",
)
