"""Text sources; importing this package registers them."""

from langneurons.text.sources import concept_sentences, hub, local, prompts, udhr

__all__ = ["concept_sentences", "hub", "local", "prompts", "udhr"]
