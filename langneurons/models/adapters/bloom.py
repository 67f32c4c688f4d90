"""BLOOM: ``dense_4h_to_h(gelu_impl(dense_h_to_4h(x)))``; the site is ``mlp.gelu_impl``.

The same site as the BLOOM branch of the LAPE reference ``activation.py``.
"""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="bloom",
        layer="transformer.h.{i}",
        site="transformer.h.{i}.mlp.gelu_impl",
        final_norm="transformer.ln_f",
        unembed="lm_head",
        width=lambda config: 4 * int(config.hidden_size),
    ),
    "BloomForCausalLM",
)
