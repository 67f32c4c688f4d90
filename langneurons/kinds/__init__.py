"""Task kinds; importing this package registers them."""

from langneurons.kinds import ablation

__all__ = ["ablation"]
