"""Identification methods; importing this package registers them."""

from langneurons.methods import lape

__all__ = ["lape"]
