"""Figures (PNG via matplotlib's Agg backend; no display needed)."""

from __future__ import annotations

from pathlib import Path

from langneurons.atomic_write import atomic_path
from langneurons.comparison import Comparison


def layer_distribution(result: Comparison, path: Path) -> None:
    """Plot language-specific and language-related neurons per layer for every set.

    Dotted lines in a set's colour mark where its phases (:mod:`langneurons.phases`) begin.
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
    figure.tight_layout()
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)
