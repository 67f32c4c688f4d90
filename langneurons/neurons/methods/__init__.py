"""Identification methods; importing this package registers them."""

from langneurons.neurons.methods import (
    diffmean,
    frequency,
    kojima2024,
    lape,
    meandiff,
    random_set,
    zhang2025,
)

__all__ = ["diffmean", "frequency", "kojima2024", "lape", "meandiff", "random_set", "zhang2025"]
