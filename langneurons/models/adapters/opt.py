"""OPT and XGLM: the decoder layer applies ``activation_fn`` between ``fc1`` and ``fc2``.

The MLP is not a submodule of its own in these families, so the site is the
layer's ``activation_fn``. OPT flattens batch and positions before ``fc1``, so its
site output is [batch * positions, neurons]; consumers reshape by the sequence
length they fed in.
"""

from __future__ import annotations

from langneurons.models.architecture import Architecture, register

register(
    Architecture(
        family="opt",
        layer="model.decoder.layers.{i}",
        site="model.decoder.layers.{i}.activation_fn",
        final_norm="model.decoder.final_layer_norm",
        unembed="lm_head",
        width=lambda config: int(config.ffn_dim),
    ),
    "OPTForCausalLM",
)
register(
    Architecture(
        family="xglm",
        layer="model.layers.{i}",
        site="model.layers.{i}.activation_fn",
        final_norm="model.layer_norm",
        unembed="lm_head",
        width=lambda config: int(config.ffn_dim),
    ),
    "XGLMForCausalLM",
)
