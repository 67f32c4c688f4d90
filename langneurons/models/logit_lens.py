"""The logit lens: decode the residual stream after every layer as if it were the last.

``last_position_states`` runs a batch and keeps, per decoder layer, the output at
the last position only (prompts are left-padded, so that is every row's next-token
position); ``decode`` applies the model's own final norm, unembedding and logit
soft-capping to such a state. At the last layer this is exactly the model's
output, which the tests check for every supported family.

Reference: Wendler et al. 2024, ``llamawrapper.py`` (``latents_all_layers`` and
``load_unemb_only``: the outputs of all decoder layers, then ``norm`` and
``lm_head``), in github.com/epfl-dlab/llm-latent-language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langneurons.models.architecture import Architecture, decoder_layers, output_head
from langneurons.models.hooks import attached

if TYPE_CHECKING:
    import torch
    from torch import nn

    from langneurons.models.handle import ModelHandle


def last_position_states(
    model: nn.Module,
    architecture: Architecture,
    inputs: Mapping[str, torch.Tensor],
    layers: Sequence[int],
) -> torch.Tensor:
    """Residual stream after each of ``layers`` at the last position: [batch, layers, hidden].

    ``inputs`` are the tokenizer's output for left-padded prompts.
    """
    import torch

    modules = decoder_layers(model, architecture)
    kept: dict[int, torch.Tensor] = {}

    def recorder(layer: int) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            kept[layer] = hidden[:, -1, :].detach()

        return hook

    with attached([(modules[i], recorder(i)) for i in layers]), torch.inference_mode():
        # the model's own logits are not needed: keep the head to one position
        model(**inputs, logits_to_keep=1)
    return torch.stack([kept[i] for i in layers], dim=1)


def state_batches(
    handle: ModelHandle, texts: Sequence[str], layers: Sequence[int], batch_size: int
) -> Iterator[torch.Tensor]:
    """:func:`last_position_states` of ``texts``, left-padded ``batch_size`` at a time."""
    for start in range(0, len(texts), batch_size):
        inputs = handle.tokenizer(
            list(texts[start : start + batch_size]),
            return_tensors="pt",
            padding=True,
            padding_side="left",
        ).to(handle.model.device)
        yield last_position_states(handle.model, handle.architecture, inputs, layers)


def decode(model: nn.Module, architecture: Architecture, states: torch.Tensor) -> torch.Tensor:
    """Logits the model would give if ``states`` [..., hidden] came out of its last layer."""
    import torch

    norm, unembed = output_head(model, architecture)
    with torch.inference_mode():
        logits: torch.Tensor = unembed(norm(states)).float()
    name = architecture.logit_softcap
    config: Any = model.config
    cap = getattr(config, name, None) if name else None
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits
