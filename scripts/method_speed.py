"""Time every identification method on the published Mistral-7B statistics (458,752 neurons x 10 languages).

Usage: python scripts/method_speed.py   (reads $LANGNEURONS_REFERENCE_DIR, default ../shared/reference)
"""

from __future__ import annotations

import time

from langneurons.neurons.identification import METHODS, identify, method
from langneurons.neurons.importers import MGSM_LANGUAGES, mgsm_statistics


def main() -> None:
    """Import the statistics once, then identify with each method and print its wall time."""
    stats = mgsm_statistics()
    method("lape")  # registers every method
    print(
        f"{stats.over_zero.shape[1] * stats.over_zero.shape[2]} neurons x {len(MGSM_LANGUAGES)} languages"
    )
    for name in METHODS.names():
        chosen = method(name)
        if name == "meandiff" or chosen.unit_means or chosen.residual:
            print(
                f"  {name:10s} skipped: needs activation sums, unit means or residual sums, "
                "which the published counts lack"
            )
            continue
        started = time.perf_counter()
        found = identify(name, stats)
        seconds = time.perf_counter() - started
        total = sum(found.count(lang) for lang in MGSM_LANGUAGES)
        print(
            f"  {name:10s} {seconds:6.2f} s  {total:6d} neuron assignments  {found.method.params}"
        )


if __name__ == "__main__":
    main()
