"""Phi-3: one fused ``gate_up_proj``; the site is ``mlp.activation_fn`` applied to the gate half."""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="phi3",
        layer="model.layers.{i}",
        site="model.layers.{i}.mlp.activation_fn",
        final_norm="model.norm",
        unembed="lm_head",
        width=lambda config: int(config.intermediate_size),
    ),
    "Phi3ForCausalLM",
)
