"""Text sources; importing this package registers them."""

from langneurons.corpora import concepts, hub, local, prompts, udhr

__all__ = ["concepts", "hub", "local", "prompts", "udhr"]
