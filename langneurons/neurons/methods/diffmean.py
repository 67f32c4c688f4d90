"""DiffMean (CLaS-Bench 2026): per language, its mean residual state minus the other languages' mean.

The vector of language L at layer l is ``mean_L(h_l) - mean_{j != L}(mean_j(h_l))``,
where ``h_l`` is the residual stream after decoder layer ``l`` (its output) and
``mean_j`` averages over language j's text tokens: the other languages count
equally, whatever their token counts. For two languages S and T,
``v_T - v_S = K / (K - 1) * (mean_T - mean_S)``, the target-minus-source
difference CLaS-Bench steers with; a steering task adds ``v_T - v_S`` and an
ablation projects ``v_L`` out. ``alpha`` scales the vectors (their direction, and
so the ablation, does not change with it).

Deliberate differences from CLaS-Bench (documented in docs/methods.md): the
vectors are kept unnormalised (their norm is set by the distance between the
means, so ``alpha = 1`` has the same meaning in every model for the same K, where CLaS-Bench's unit vector
times ``alpha`` in {1, 2.5, 5, 10} depends on the model's residual scale); and one
layer is fixed a priori by ``depth`` rather than picked by sweeping layers on the
evaluation prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from langneurons.errors import ConfigError
from langneurons.neurons.identification import Directions, MethodParams, register_vectors

if TYPE_CHECKING:
    from langneurons.neurons.statistics import ActivationStats
    from langneurons.neurons.vector_set import Vectors


class DiffmeanParams(MethodParams):
    """Parameters of ``diffmean``."""

    depth: float = Field(
        0.5,
        ge=0,
        le=1,
        description="relative depth of the one layer the vectors are taken at: layer "
        "round(depth * (layers - 1)), the middle one by default",
    )
    alpha: float = Field(
        1.0,
        gt=0,
        description="scale of the vectors: with K languages identified together, steering "
        "from S to T adds alpha * K/(K-1) * (mean_T - mean_S)",
    )


def build(stats: ActivationStats, params: DiffmeanParams) -> Directions:
    """Per language, the difference of its mean residual state and the others' at one layer."""
    if len(stats.languages) < 2:
        raise ConfigError("method 'diffmean' needs two languages at least (it contrasts them)")
    means = stats.residual_means()  # [K, layers, hidden] float64
    layers = means.shape[1]
    layer = round(params.depth * (layers - 1))
    total = means[:, layer].sum(0)
    others = len(stats.languages) - 1
    vectors: dict[str, Vectors] = {}
    for k, lang in enumerate(stats.languages):
        vector = params.alpha * (means[k, layer] - (total - means[k, layer]) / others)
        vectors[lang] = {layer: tuple(float(x) for x in vector.tolist())}
    return vectors, {"layer": layer}


register_vectors(
    "diffmean",
    DiffmeanParams,
    build,
    reference="CLaS-Bench 2026: difference of mean residual states (vectors, not neurons)",
)
