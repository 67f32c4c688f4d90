"""Task kinds; importing this package registers them."""

from langneurons.kinds import ablation, latent, steering

__all__ = ["ablation", "latent", "steering"]
