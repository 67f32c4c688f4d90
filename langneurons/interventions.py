"""Interventions on neuron sites, as context managers that own their hooks.

Hooks are global state on the model. Each context manager resolves every site and
builds every index tensor *before* it registers anything, so bad input fails
with no hook attached; it registers inside ``try`` and removes exactly the hooks
it added in ``finally``, so exceptions inside the block leave the model clean and
nested interventions compose. A hook never changes the shape, dtype or device of
the activation it rewrites; index tensors are moved to the activation's device
once, on first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langneurons.architecture import Architecture, architecture_for, neuron_sites
from langneurons.errors import ConfigError
from langneurons.hooks import attached

if TYPE_CHECKING:
    import torch
    from torch import nn


@contextlib.contextmanager
def ablate(
    model: nn.Module,
    neurons: Mapping[int, Sequence[int]],
    architecture: Architecture | None = None,
    start: int = 0,
) -> Iterator[None]:
    """Zero the given neurons at the activation site while the block runs.

    Zeroing the activation output equals zeroing the down-projection input for
    those channels (also in gated MLPs, where the product with ``up_proj`` keeps
    the zero), which is what the LAPE reference ``ppl.py`` does with
    ``index_fill_(2, mask, 0)``.

    Args:
        model: a ``*ForCausalLM`` model with a registered architecture.
        neurons: layer -> neuron indices; layers not listed are untouched.
        architecture: the model's adapter (looked up when None).
        start: first sequence position to ablate; earlier positions (a BOS
            token, say) keep their activations.

    Raises:
        ConfigError: a layer or neuron index is out of range.
    """
    import torch

    architecture = architecture or architecture_for(model)
    sites = neuron_sites(model, architecture)
    width = architecture.width(model.config)
    plan = []
    for layer, indices in sorted(neurons.items()):
        if not indices:
            continue
        _check_indices(layer, indices, len(sites), width)
        plan.append((sites[layer], torch.tensor(sorted(indices), dtype=torch.long)))
    if start < 0:
        raise ConfigError(f"start must be a position >= 0, got {start}")
    positions: dict[str, int] = {}
    pre = [(model, _sequence_length(positions))] if start else []
    with attached([(site, _zero_hook(index, start, positions)) for site, index in plan], pre):
        yield


def _sequence_length(positions: dict[str, int]) -> Any:
    """Pre-hook on the model recording the input length (sites may flatten positions)."""
    import torch

    def record(module: nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if not isinstance(ids, torch.Tensor):
            raise ConfigError("ablate(start=...) needs the forward call to pass input_ids")
        positions["length"] = int(ids.shape[-1])

    return record


def _zero_hook(index: torch.Tensor, start: int, positions: dict[str, int]) -> Any:
    import torch

    on_device: dict[Any, torch.Tensor] = {}

    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        idx = on_device.get(output.device)
        if idx is None:
            idx = on_device.setdefault(output.device, index.to(output.device))
        if not start:
            return output.index_fill(-1, idx, 0)
        # [batch, positions, neurons]; some families flatten the first two axes
        shaped = output.reshape(-1, positions["length"], output.shape[-1])
        kept, ablated = shaped[:, :start], shaped[:, start:].index_fill(-1, idx, 0)
        return torch.cat([kept, ablated], dim=1).reshape(output.shape)

    return hook


def _check_indices(layer: int, indices: Sequence[int], layers: int, width: int) -> None:
    if not 0 <= layer < layers:
        raise ConfigError(f"layer {layer} is out of range: the model has layers 0..{layers - 1}")
    bad = [n for n in indices if not 0 <= n < width]
    if bad:
        raise ConfigError(
            f"neuron {bad[0]} in layer {layer} is out of range: layers have {width} neurons"
        )
