"""Figures (PNG via matplotlib's Agg backend; no display needed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_path
from langneurons.neurons.comparison import Comparison
from langneurons.tasks.protocol import CellResult


def layer_distribution(result: Comparison, path: Path) -> None:
    """Plot language-specific and language-related neurons per layer for every set.

    Dotted lines in a set's colour mark where its phases (:mod:`langneurons.neurons.phases`) begin.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for axis, category in zip(axes, ("specific", "related"), strict=True):
        for name in result.names:
            counts = result.per_layer[name][category]
            (line,) = axis.plot(range(len(counts)), counts, marker="o", markersize=3, label=name)
            for span in list(result.phases[name].ranges.values())[1:]:
                if span is not None:
                    axis.axvline(span[0] - 0.5, color=line.get_color(), linestyle=":", alpha=0.7)
        axis.set_title(f"language-{category} neurons")
        axis.set_xlabel("layer")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("neurons")
    axes[1].legend(fontsize=8)
    _save(figure, path)


def latent_curves(cells: Mapping[str, CellResult], path: Path) -> None:
    """Per-layer answer probabilities of each cell, in the style of Wendler et al. 2024.

    Solid: the unmodified model (target blue, English orange) with 95 % bands;
    dashed: the same with the target language's neurons ablated.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, len(cells))
    rows = -(-len(cells) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(3.4 * columns, 2.8 * rows), sharey=True, squeeze=False
    )
    flat = list(axes.flat)
    for axis, (cell_id, result) in zip(flat, cells.items(), strict=False):
        for name, colour, label in (
            ("p_target", "tab:blue", "target"),
            ("p_latent", "tab:orange", "English"),
        ):
            if name in result.curves:
                _band(axis, result.curves[name], result.curves[f"{name}_band"], colour, label)
            if f"ablated_{name}" in result.curves:
                axis.plot(
                    result.curves[f"ablated_{name}"],
                    color=colour,
                    linestyle="--",
                    label=f"{label}, ablated",
                )
        axis.set_title(cell_id, fontsize=9)
        axis.set_xlabel("layer")
        axis.grid(alpha=0.3)
    flat[0].set_ylabel("probability")
    flat[0].legend(fontsize=7)
    for axis in flat[len(cells) :]:
        axis.set_visible(False)
    _save(figure, path)


def probe_curve(result: CellResult, path: Path) -> None:
    """The input-language probe's held-out accuracy per layer, against chance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 3))
    axis.plot(result.curves["probe_accuracy"], color="tab:green", marker="o", markersize=3)
    axis.axhline(result.metrics["chance"], color="grey", linestyle=":", label="chance")
    axis.set_ylim(0, 1.02)
    axis.set_title(f"input language, {result.metrics['classes']:.0f} languages", fontsize=9)
    axis.set_xlabel("layer")
    axis.set_ylabel("held-out accuracy")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    _save(figure, path)


def _band(axis: Any, mean: list[float], band: list[float], colour: str, label: str) -> None:
    axis.plot(mean, color=colour, label=label)
    axis.fill_between(
        range(len(mean)),
        [m - b for m, b in zip(mean, band, strict=True)],
        [m + b for m, b in zip(mean, band, strict=True)],
        color=colour,
        alpha=0.25,
    )


def _save(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
