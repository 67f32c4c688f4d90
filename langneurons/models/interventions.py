"""Interventions on neuron sites and on the residual stream, as context managers that own their hooks.

Hooks are global state on the model. Each context manager resolves every site and
builds every index tensor *before* it registers anything, so bad input fails
with no hook attached; it registers inside ``try`` and removes exactly the hooks
it added in ``finally``, so exceptions inside the block leave the model clean and
nested interventions compose. A hook never changes the shape, dtype or device of
the activation it rewrites, and rewrites it in place (a copy only where autograd
records it); index tensors are moved to the activation's device once, on first use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langneurons.errors import ConfigError
from langneurons.models.architecture import (
    Architecture,
    architecture_for,
    decoder_layers,
    hidden_size,
    neuron_sites,
)
from langneurons.models.hooks import attached

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
    with steer(model, {}, {}, neurons, architecture, start):
        yield


@contextlib.contextmanager
def steer(
    model: nn.Module,
    activate: Mapping[int, Sequence[int]],
    values: Mapping[int, Sequence[float]],
    deactivate: Mapping[int, Sequence[int]] | None = None,
    architecture: Architecture | None = None,
    start: int = 0,
) -> Iterator[None]:
    """Set some neurons to fixed values and zero others while the block runs.

    Tang et al. 2024 (section 5) steer the output language by activating the
    target language's neurons and deactivating the source language's. A neuron in
    both maps takes its value: activation is applied after zeroing.

    Args:
        model: a ``*ForCausalLM`` model with a registered architecture.
        activate: layer -> neuron indices to set.
        values: layer -> one value per index in ``activate[layer]``, in that order
            (see :func:`langneurons.tasks.steering_values.steering_values`).
        deactivate: layer -> neuron indices to zero.
        architecture: the model's adapter (looked up when None).
        start: first absolute sequence position to change. With a key-value cache
            positions count from the start of the cached sequence, so passing the
            prompt length changes generated positions only.

    Raises:
        ConfigError: an index is out of range, or values do not match the indices.
    """
    import torch

    architecture = architecture or architecture_for(model)
    sites = neuron_sites(model, architecture)
    width = architecture.width(model.config)
    if start < 0:
        raise ConfigError(f"start must be a position >= 0, got {start}")
    zeroed = {layer: idx for layer, idx in (deactivate or {}).items() if idx}
    setting = {layer: idx for layer, idx in activate.items() if idx}
    positions = _Positions()
    plan = []
    check_indices(zeroed, len(sites), width)
    check_indices(setting, len(sites), width)
    for layer in sorted(set(zeroed) | set(setting)):
        zero = torch.tensor(sorted(zeroed.get(layer, ())), dtype=torch.long)
        chosen = list(setting.get(layer, ()))
        given = list(values.get(layer, ())) if chosen else []
        if len(given) != len(chosen):
            raise ConfigError(
                f"layer {layer}: {len(chosen)} neurons to activate but {len(given)} values"
            )
        put = (torch.tensor(chosen, dtype=torch.long), torch.tensor(given, dtype=torch.float32))
        plan.append((sites[layer], _Rewrite(zero, put, start, positions)))
    with attached(plan, [(model, positions.record)] if start else []):
        yield


@contextlib.contextmanager
def add_to_residual(
    model: nn.Module,
    vectors: Mapping[int, Sequence[float]],
    architecture: Architecture | None = None,
    start: int = 0,
) -> Iterator[None]:
    """Add ``vectors[layer]`` to the residual stream after each listed layer while the block runs.

    The steering of a vector set (CLaS-Bench 2026: a DiffMean direction added to
    a layer's output at every position). The sum is taken in float32 and cast
    back to the stream's dtype.

    Args:
        model: a ``*ForCausalLM`` model with a registered architecture.
        vectors: layer -> one number per residual dimension.
        architecture: the model's adapter (looked up when None).
        start: first absolute sequence position to change (as :func:`steer`).

    Raises:
        ConfigError: a layer is out of range, or a vector's length is not the hidden size.
    """
    with _residual(model, vectors, architecture, start, project=False):
        yield


@contextlib.contextmanager
def project_out(
    model: nn.Module,
    vectors: Mapping[int, Sequence[float]],
    architecture: Architecture | None = None,
    start: int = 0,
) -> Iterator[None]:
    """Remove the component along ``vectors[layer]`` from the residual stream after each listed layer.

    ``h <- h - (h . u) u`` with ``u = v / |v|``: the ablation of a vector set, the
    directional ablation of Arditi et al. 2024 at the listed layers only.

    Raises:
        ConfigError: a layer is out of range, a vector's length is not the hidden
            size, or a vector is zero.
    """
    with _residual(model, vectors, architecture, start, project=True):
        yield


@contextlib.contextmanager
def _residual(
    model: nn.Module,
    vectors: Mapping[int, Sequence[float]],
    architecture: Architecture | None,
    start: int,
    project: bool,
) -> Iterator[None]:
    """Hooks on decoder-layer outputs that add, or project out, one vector each."""
    import torch

    architecture = architecture or architecture_for(model)
    layers = decoder_layers(model, architecture)
    hidden = hidden_size(model, architecture)
    if start < 0:
        raise ConfigError(f"start must be a position >= 0, got {start}")
    positions = _Positions()
    plan = []
    for layer in sorted(vectors):
        if not 0 <= layer < len(layers):
            raise ConfigError(
                f"layer {layer} is out of range: the model has layers 0..{len(layers) - 1}"
            )
        vector = torch.tensor(list(vectors[layer]), dtype=torch.float32)
        if vector.shape != (hidden,):
            raise ConfigError(
                f"layer {layer}: a vector of {vector.numel()} numbers; the hidden size is {hidden}"
            )
        if project:
            norm = float(vector.norm())
            if norm == 0:
                raise ConfigError(f"layer {layer}: a zero vector has no direction to project out")
            vector = vector / norm
        plan.append((layers[layer], _Shift(vector, project, start, positions)))
    with attached(plan, [(model, positions.record)] if start else []):
        yield


class _Positions:
    """Pre-hook on the model: the input length and the absolute position it starts at.

    Sites may flatten batch and positions, so the hooks need the length. The first
    position comes from what transformers passes to every forward, not from cache
    internals (whose names change between releases: 5.24 renamed the cache
    argument): ``cache_position`` where a version still passes it; else the 2-D
    attention mask, which ``generate`` grows to span the cached positions too; else
    ``position_ids``, which count each row from its first real token, so in a
    left-padded batch (which has a row without padding) the largest position of
    the last column is that column's absolute position. Only a call with none of
    these falls back to the length of the cache.
    """

    def __init__(self) -> None:
        self.length = 0
        self.offset = 0

    def record(self, module: nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        import torch

        ids = kwargs.get("input_ids", args[0] if args else None)
        if not isinstance(ids, torch.Tensor):
            raise ConfigError("an intervention from a start position needs input_ids")
        self.length = int(ids.shape[-1])
        self.offset = _first_position(kwargs, self.length)


def _first_position(kwargs: dict[str, Any], length: int) -> int:
    """Absolute position of the first input token of a forward call (see :class:`_Positions`)."""
    import torch

    cache_position = kwargs.get("cache_position")
    if isinstance(cache_position, torch.Tensor) and cache_position.numel():
        return int(cache_position.reshape(-1)[0])
    mask = kwargs.get("attention_mask")
    if isinstance(mask, torch.Tensor) and mask.ndim == 2:
        return int(mask.shape[-1]) - length
    position_ids = kwargs.get("position_ids")
    if isinstance(position_ids, torch.Tensor) and position_ids.numel():
        return int(position_ids[..., -1].max()) - (length - 1)
    cache = kwargs.get("past_key_values", kwargs.get("cache"))
    return int(cache.get_seq_length()) if cache is not None else 0


class _Rewrite:
    """Forward hook on one site: zero some channels, then set others, from ``start`` on."""

    def __init__(
        self,
        zero: torch.Tensor,
        put: tuple[torch.Tensor, torch.Tensor],
        start: int,
        positions: _Positions,
    ) -> None:
        self.zero, (self.index, self.values) = zero, put
        self.start, self.positions = start, positions
        self.on_device: dict[Any, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        moved = self.on_device.get((output.device, output.dtype))
        if moved is None:
            moved = (
                self.zero.to(output.device),
                self.index.to(output.device),
                self.values.to(output.device, output.dtype),
            )
            self.on_device[(output.device, output.dtype)] = moved
        zero, index, values = moved
        first = max(0, self.start - self.positions.offset)
        if first and first >= self.positions.length:
            return output
        # the activation feeds only the next product: rewriting it in place is safe
        # unless autograd records it, and then one copy is rewritten instead
        act = output.clone() if output.requires_grad else output
        if first:
            # [batch, positions, neurons]; some families flatten the first two axes
            shaped = act.reshape(-1, self.positions.length, act.shape[-1])
            self._rewrite(shaped[:, first:], zero, index, values)
            return shaped.reshape(act.shape)
        return self._rewrite(act, zero, index, values)

    @staticmethod
    def _rewrite(
        act: torch.Tensor, zero: torch.Tensor, index: torch.Tensor, values: torch.Tensor
    ) -> torch.Tensor:
        """Zero ``zero`` and set ``index`` to ``values`` along the last axis of ``act``, in place."""
        if len(zero):
            act.index_fill_(-1, zero, 0)
        if len(index):
            act.index_copy_(-1, index, values.expand(*act.shape[:-1], len(values)))
        return act


class _Shift:
    """Forward hook on one decoder layer: add a vector to its output, or project a unit vector out.

    Returns a new tensor (the output may be a view that other hooks keep, such
    as the logit lens's), in the output's dtype, from ``start`` on.
    """

    def __init__(
        self, vector: torch.Tensor, project: bool, start: int, positions: _Positions
    ) -> None:
        self.vector, self.project = vector, project
        self.start, self.positions = start, positions
        self.on_device: dict[Any, torch.Tensor] = {}

    def __call__(self, module: nn.Module, inputs: Any, output: Any) -> Any:
        hidden = output[0] if isinstance(output, tuple) else output
        vector = self.on_device.get(hidden.device)
        if vector is None:
            vector = self.on_device[hidden.device] = self.vector.to(hidden.device)
        first = max(0, self.start - self.positions.offset)
        if first and first >= self.positions.length:
            return output
        states = hidden.float()
        if self.project:
            change = -(states @ vector)[..., None] * vector
        else:
            change = vector.expand_as(states)
        if first:
            change = change.clone()
            change[:, :first] = 0
        changed = (states + change).to(hidden.dtype)
        return (changed, *output[1:]) if isinstance(output, tuple) else changed


def check_indices(
    neurons: Mapping[int, Sequence[int]], layers: int, width: int, what: str | None = None
) -> None:
    """Check that every layer and neuron index exists in a model of ``layers`` x ``width``.

    The one index check: :func:`steer` runs it on entry, and the lm-eval model runs
    it when it is built, so a bad neuron set fails before lm-eval starts, not at the
    first forward of an evaluation, with the same message either way.

    Args:
        neurons: layer -> neuron indices.
        layers: layers of the model.
        width: neurons per layer at the site.
        what: names the neurons in the message (a file, say) when the caller knows more.

    Raises:
        ConfigError: a layer or neuron index is out of range.
    """
    prefix = f"{what}: " if what else ""
    for layer, indices in neurons.items():
        if not 0 <= layer < layers:
            raise ConfigError(
                f"{prefix}layer {layer} is out of range: the model has layers 0..{layers - 1}"
            )
        bad = [n for n in indices if not 0 <= n < width]
        if bad:
            raise ConfigError(
                f"{prefix}neuron {bad[0]} in layer {layer} is out of range: "
                f"layers have {width} neurons"
            )
