"""Text sources; importing this package registers them."""

from langneurons.text.sources import (
    concept_sentences,
    debian_handbook,
    hub,
    libreoffice_help,
    local,
    prompts,
    udhr,
)

__all__ = [
    "concept_sentences",
    "debian_handbook",
    "hub",
    "libreoffice_help",
    "local",
    "prompts",
    "udhr",
]
