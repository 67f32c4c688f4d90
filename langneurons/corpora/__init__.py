"""Text sources; importing this package registers them."""

from langneurons.corpora import hub, local, prompts, udhr

__all__ = ["hub", "local", "prompts", "udhr"]
