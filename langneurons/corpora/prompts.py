"""``prompts``: the project's neutral steering prompts (``langneurons/data/prompts.yaml``).

Twenty open-ended sentence openings per language, the same twenty in every
language, for the ``evaluate`` split (they are never used to identify neurons).
Other prompts come from a local file (``text`` / ``jsonl``) or a hub dataset.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import yaml

from langneurons.corpus import SOURCES, CorpusSpec, Split
from langneurons.errors import MissingResourceError


@cache
def _prompts() -> dict[str, list[str]]:
    text = files("langneurons").joinpath("data/prompts.yaml").read_text(encoding="utf-8")
    return {lang: [str(p) for p in items] for lang, items in yaml.safe_load(text).items()}


def read_prompts(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the prompts of ``lang`` (split ``evaluate`` only)."""
    prompts = _prompts()
    if split != "evaluate":
        raise MissingResourceError("the prompts source has an evaluate split only")
    if lang not in prompts:
        raise MissingResourceError(
            f"the prompts source has no '{lang}' prompts (it has {', '.join(prompts)}); "
            "give a file with data: {source: jsonl, path: ...}"
        )
    return list(prompts[lang])


SOURCES.add("prompts", read_prompts)
