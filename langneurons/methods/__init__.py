"""Identification methods; importing this package registers them."""

from langneurons.methods import frequency, lape, meandiff, random, zhang2025

__all__ = ["frequency", "lape", "meandiff", "random", "zhang2025"]
