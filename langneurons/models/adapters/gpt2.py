"""GPT-2: ``c_proj(act(c_fc(x)))``; the site is ``mlp.act``."""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="gpt2",
        layer="transformer.h.{i}",
        site="transformer.h.{i}.mlp.act",
        final_norm="transformer.ln_f",
        unembed="lm_head",
        width=lambda config: int(config.n_inner or 4 * config.n_embd),
    ),
    "GPT2LMHeadModel",
)
