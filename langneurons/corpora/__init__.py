"""Text sources; importing this package registers them."""

from langneurons.corpora import hub, local, udhr

__all__ = ["hub", "local", "udhr"]
