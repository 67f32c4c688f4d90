"""``prompts``: the project's neutral steering prompts (``langneurons/text/data/prompts.yaml``).

Twenty open-ended sentence openings per language, the same twenty in every
language, for the ``evaluate`` split (they are never used to identify neurons).
Other prompts come from a local file (``text`` / ``jsonl``) or a hub dataset.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from langneurons.errors import FormatError, MissingResourceError
from langneurons.input_files import parse_yaml
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split

#: the source name task files give as ``data.source``
NAME = "prompts"


@cache
def _prompts() -> dict[str, list[str]]:
    text = files("langneurons.text").joinpath("data/prompts.yaml").read_text(encoding="utf-8")
    data = parse_yaml(text, "langneurons/text/data/prompts.yaml", FormatError)
    return {lang: [str(p) for p in items] for lang, items in data.items()}


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


SOURCES.add(NAME, Source(read_prompts))
