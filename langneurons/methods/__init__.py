"""Identification methods; importing this package registers them."""

from langneurons.methods import lape, zhang2025

__all__ = ["lape", "zhang2025"]
