"""Time every identification method on the published Mistral-7B statistics (458,752 neurons x 10 languages).

Usage: python scripts/method_speed.py [REFERENCE_DIR]   (default: $LANGNEURONS_REFERENCE_DIR)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from langneurons.method import METHODS, identify, method
from langneurons.paths import reference_dir
from langneurons.statistics import import_counts

LANGS = ["en", "ru", "es", "fr", "de", "zh", "ja", "bn", "th", "sw"]
TAG = "Mistral-de76d14562b1da1ba0e52d5b245cf9c0859e2af3"
MODEL = {
    "name": "mistral-7b-mgsm",
    "source": None,
    "revision": None,
    "architecture": "MistralForCausalLM",
    "num_layers": 32,
    "neurons_per_layer": 14336,
}


def main() -> None:
    """Import the statistics once, then identify with each method and print its wall time."""
    folder = (
        (Path(sys.argv[1]) if len(sys.argv) > 1 else reference_dir())
        / "lna-2025-mistral-7b-mgsm"
        / "activations"
    )
    stats = import_counts(
        str(folder / f"activation.{{lang}}.{TAG}.pt"),
        str(folder / f"prefix.activation.{{lang}}.{TAG}.pt"),
        LANGS,
        MODEL,
        "model.layers.{i}.mlp.act_fn",
    )
    method("lape")  # registers every method
    print(f"{stats.over_zero.shape[1] * stats.over_zero.shape[2]} neurons x {len(LANGS)} languages")
    for name in METHODS.names():
        if name == "meandiff":
            print(f"  {name:10s} skipped: needs activation sums, which the published counts lack")
            continue
        started = time.perf_counter()
        found = identify(name, stats)
        seconds = time.perf_counter() - started
        total = sum(found.count(lang) for lang in LANGS)
        print(
            f"  {name:10s} {seconds:6.2f} s  {total:6d} neuron assignments  {found.method['params']}"
        )


if __name__ == "__main__":
    main()
