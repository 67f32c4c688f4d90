"""Identification methods; importing this package registers them."""

from langneurons.neurons.methods import frequency, lape, meandiff, random_set, zhang2025

__all__ = ["frequency", "lape", "meandiff", "random_set", "zhang2025"]
