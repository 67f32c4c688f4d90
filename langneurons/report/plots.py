"""Figures (PNG via matplotlib's Agg backend; no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langneurons.atomic_write import atomic_path
from langneurons.neurons.comparison import Comparison
from langneurons.tasks.protocol import Figure, Series


def layer_distribution(result: Comparison, path: Path) -> None:
    """Plot language-specific and language-related neurons per layer for every set.

    Dotted lines in a set's colour mark where its phases (:mod:`langneurons.neurons.phases`) begin.
    Sets of models of different shapes share the axes by relative depth (layer + 1/2
    over layers) and by share of each layer's neurons, one line per set.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for axis, category in zip(axes, ("specific", "related"), strict=True):
        for name in result.names:
            counts = result.per_layer[name][category]
            layers, width = result.shapes[name]
            if result.one_shape:
                x, y = [float(i) for i in range(layers)], [float(c) for c in counts]
            else:
                x = [(i + 0.5) / layers for i in range(layers)]
                y = [100 * c / width for c in counts]
            (line,) = axis.plot(x, y, marker="o", markersize=3, label=name)
            for span in list(result.phases[name].ranges.values())[1:]:
                if span is not None:
                    start = span[0] - 0.5 if result.one_shape else span[0] / layers
                    axis.axvline(start, color=line.get_color(), linestyle=":", alpha=0.7)
        axis.set_title(f"language-{category} neurons")
        axis.set_xlabel("layer" if result.one_shape else "relative depth (layer + 1/2) / layers")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("neurons" if result.one_shape else "% of the layer's neurons")
    axes[1].legend(fontsize=8)
    _save(figure, path)


def draw(figure: Figure, path: Path) -> None:
    """Draw a kind's figure: its panels side by side (up to four a row), sharing the y axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(figure.panels)
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    size = (4.5, 3.0) if len(panels) == 1 else (3.4 * columns, 2.8 * rows)
    drawn, axes = plt.subplots(rows, columns, figsize=size, sharey=True, squeeze=False)
    flat = list(axes.flat)
    for axis, panel in zip(flat, panels, strict=False):
        for series in panel.series:
            _curve(axis, series)
        if panel.reference is not None:
            value, label = panel.reference
            axis.axhline(value, color="grey", linestyle=":", label=label)
        if panel.y_limits is not None:
            axis.set_ylim(*panel.y_limits)
        axis.set_title(panel.title, fontsize=9)
        axis.set_xlabel("layer")
        axis.grid(alpha=0.3)
    flat[0].set_ylabel(panels[0].y_label)
    flat[0].legend(fontsize=7)
    for axis in flat[len(panels) :]:
        axis.set_visible(False)
    _save(drawn, path)


def _curve(axis: Any, series: Series) -> None:
    style = {"color": series.colour, "label": series.label}
    if series.dashed:
        style["linestyle"] = "--"
    if series.markers:
        axis.plot(series.values, marker="o", markersize=3, **style)
    else:
        axis.plot(series.values, **style)
    if series.band is not None:
        _band(axis, list(series.values), list(series.band), series.colour)


def _band(axis: Any, mean: list[float], band: list[float], colour: str) -> None:
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
