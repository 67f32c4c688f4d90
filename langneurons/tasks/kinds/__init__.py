"""Task kinds; importing this package registers them."""

from langneurons.tasks.kinds import ablation, downstream, latent, steering

__all__ = ["ablation", "downstream", "latent", "steering"]
