"""Architecture adapters: where each model family keeps its neuron site.

A neuron is one channel of the output of the MLP activation function (the site of
both reference implementations: ``act_fn(gate_proj(x))`` before the product with
``up_proj`` in gated MLPs). An adapter *declares* module paths; it never probes.
Adapters are registered under the Hugging Face class name of the model
(``config.architectures[0]``, e.g. ``LlamaForCausalLM``) in ``ARCHITECTURES``; no
other code branches on a model family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langneurons.errors import UnsupportedModelError
from langneurons.registry import Registry

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Architecture:
    """Module paths of one model family, relative to the ``*ForCausalLM`` model.

    Attributes:
        family: short family name recorded in outputs ("llama", "gemma3", ...).
        layer: path template of decoder layer ``{i}``, whose output is the
            residual stream the logit lens reads.
        site: path template of the activation module of layer ``{i}``.
        final_norm: path of the norm applied before the unembedding.
        unembed: path of the output projection to the vocabulary.
        width: neurons per layer, read from the model's config.
        logit_softcap: name of the config attribute holding the final logit
            soft-capping value, for families that apply one (Gemma 2, Gemma 3).
        norm_offset: the final norm scales by ``weight + norm_offset``: 0 for
            most families, 1 where the norm multiplies by ``1 + weight`` (Gemma's
            RMSNorm), so that readers of the scale (token energy) need no branch.
    """

    family: str
    layer: str
    site: str
    final_norm: str
    unembed: str
    width: Callable[[Any], int]
    logit_softcap: str | None = None
    norm_offset: float = 0.0

    def site_path(self, layer: int) -> str:
        """Return the module path of the neuron site in ``layer``."""
        return self.site.format(i=layer)


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def register(architecture: Architecture, *hf_classes: str) -> None:
    """Register ``architecture`` under each Hugging Face model class name."""
    for name in hf_classes:
        ARCHITECTURES.add(name, architecture)


def architecture_for(model: nn.Module) -> Architecture:
    """Return the adapter for ``model``, keyed by its class name.

    Raises:
        UnsupportedModelError: no adapter is registered for the class.
    """
    return architecture_named(type(model).__name__)


def architecture_named(name: str) -> Architecture:
    """Return the adapter registered for the Hugging Face class ``name``.

    Raises:
        UnsupportedModelError: no adapter is registered for the class.
    """
    import langneurons.models.adapters  # noqa: F401  (registers the adapters)

    if name not in ARCHITECTURES:
        raise UnsupportedModelError(
            f"unsupported architecture '{name}'; supported: {', '.join(ARCHITECTURES.names())}"
        )
    return ARCHITECTURES.get(name)


def num_layers(model: nn.Module) -> int:
    """Return the number of transformer layers of ``model``."""
    config: Any = model.config
    return int(config.num_hidden_layers)


def neuron_sites(model: nn.Module, architecture: Architecture) -> list[nn.Module]:
    """Return the neuron-site module of every layer, in layer order.

    Raises:
        UnsupportedModelError: a declared path does not exist, or two layers share
            one module (a hook on it would fire for both).
    """
    sites = [
        _submodule(model, architecture, architecture.site_path(i)) for i in range(num_layers(model))
    ]
    if len({id(site) for site in sites}) != len(sites):
        raise UnsupportedModelError(
            f"{type(model).__name__}: layers share one activation module at "
            f"'{architecture.site}'; per-layer hooks would interfere"
        )
    return sites


def decoder_layers(model: nn.Module, architecture: Architecture) -> list[nn.Module]:
    """Return every decoder layer of ``model``, in order.

    Raises:
        UnsupportedModelError: a declared path does not exist.
    """
    return [
        _submodule(model, architecture, architecture.layer.format(i=i))
        for i in range(num_layers(model))
    ]


def output_head(model: nn.Module, architecture: Architecture) -> tuple[nn.Module, nn.Module]:
    """Return the final norm and the unembedding of ``model``.

    Raises:
        UnsupportedModelError: a declared path does not exist.
    """
    return (
        _submodule(model, architecture, architecture.final_norm),
        _submodule(model, architecture, architecture.unembed),
    )


def hidden_size(model: nn.Module, architecture: Architecture) -> int:
    """The residual stream's width: what the unembedding reads (config names differ by family)."""
    _, unembed = output_head(model, architecture)
    return int(unembed.get_parameter("weight").shape[-1])


def _submodule(model: nn.Module, architecture: Architecture, path: str) -> nn.Module:
    try:
        module = model.get_submodule(path)
    except AttributeError:
        module = None
    if module is None:
        raise UnsupportedModelError(
            f"{type(model).__name__} ({architecture.family} adapter): no module at '{path}'"
        )
    return module
