"""Task kinds; importing this package registers them."""

from langneurons.kinds import ablation, steering

__all__ = ["ablation", "steering"]
