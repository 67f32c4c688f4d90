"""Gemma 1, 2 and 3 (text): gated MLPs with the site at ``mlp.act_fn``.

Gemma 2 and 3 soft-cap the final logits when ``final_logit_softcapping`` is set;
the logit lens must apply the same cap. All three final RMSNorms scale by
``1 + weight`` (``GemmaRMSNorm``, ``Gemma2RMSNorm``, ``Gemma3RMSNorm`` in
transformers), hence ``norm_offset=1``.
"""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register


def _gemma(family: str, softcap: str | None) -> Architecture:
    return Architecture(
        family=family,
        layer="model.layers.{i}",
        site="model.layers.{i}.mlp.act_fn",
        final_norm="model.norm",
        unembed="lm_head",
        width=lambda config: int(config.intermediate_size),
        logit_softcap=softcap,
        norm_offset=1.0,
    )


register(_gemma("gemma", None), "GemmaForCausalLM")
register(_gemma("gemma2", "final_logit_softcapping"), "Gemma2ForCausalLM")
register(_gemma("gemma3", "final_logit_softcapping"), "Gemma3ForCausalLM")
