"""FLORES+ and Wikipedia from the Hugging Face hub (needs ``pip install 'langneurons[hub]'``).

- ``flores``: ``openlanguagedata/flores_plus``, configuration per language (e.g.
  ``deu_Latn``); ``identify`` reads split ``dev`` (997 sentences), ``evaluate``
  reads ``devtest`` (1012). Sentences are aligned across languages.
- ``wikipedia``: ``wikimedia/wikipedia``, configuration ``20231101.<code>``,
  streamed; articles alternate between the splits (even rows ``identify``, odd
  rows ``evaluate``), each article's non-empty lines are paragraphs.
  ``WIKIPEDIA_ARTICLES`` articles are read per split, and more while the text is
  shorter than ``WIKIPEDIA_CHARS_PER_TOKEN`` characters per token the run asks for
  (``CorpusSpec.tokens``: LAPE's protocol takes 2^20 tokens to evaluate and about
  10^8 to identify); the token budget itself is checked where the text is tokenized.

``path`` may point to a local folder in the same shape,
``<path>/<configuration>/<split>.jsonl`` (or ``.parquet``), for offline use and tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langneurons.errors import MissingResourceError, pip_dependency_error
from langneurons.paths import hub_offline
from langneurons.text.corpus import SOURCES, CorpusSpec, Source, Split
from langneurons.text.languages import language

FLORES = "openlanguagedata/flores_plus"
WIKIPEDIA = "wikimedia/wikipedia"
WIKIPEDIA_DUMP = "20231101"
WIKIPEDIA_ARTICLES = 200
#: characters read per token asked for: above every supported tokenizer's
#: characters per token on Wikipedia text (about 3-5), so the budget is met
WIKIPEDIA_CHARS_PER_TOKEN = 6


def read_flores(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return the FLORES+ sentences of ``lang`` (dev for identify, devtest for evaluate)."""
    config = language(lang).flores
    rows = _rows(spec, FLORES, config, "dev" if split == "identify" else "devtest", streaming=False)
    return [str(row["text"]) for row in rows]


def read_wikipedia(spec: CorpusSpec, lang: str, split: Split) -> list[str]:
    """Return paragraphs of alternate Wikipedia articles of ``lang``."""
    config = f"{WIKIPEDIA_DUMP}.{lang}"
    rows = _rows(spec, WIKIPEDIA, config, "train", streaming=True)
    wanted = 0 if spec.tokens is None else WIKIPEDIA_CHARS_PER_TOKEN * spec.tokens
    found: list[str] = []
    chars = 0
    articles = itertools.islice(rows, 0 if split == "identify" else 1, None, 2)
    for count, row in enumerate(articles):
        if count >= WIKIPEDIA_ARTICLES and chars >= wanted:
            break
        lines = [line.strip() for line in str(row["text"]).split("\n") if line.strip()]
        found += lines
        chars += sum(map(len, lines))
    return found


def _rows(spec: CorpusSpec, repo: str, config: str, split: str, streaming: bool) -> Iterator[Any]:
    try:
        import datasets
    except ImportError:
        raise pip_dependency_error(f"data source '{spec.source}'", "datasets") from None
    if spec.path is not None:
        return iter(_local_rows(datasets, Path(spec.path).expanduser(), config, split))
    if hub_offline():
        raise MissingResourceError(
            f"data source '{spec.source}' reads {repo} from the Hugging Face hub and "
            "HF_HUB_OFFLINE=1 is set; use source udhr, text or jsonl, or give a local path"
        )
    try:
        rows = datasets.load_dataset(repo, config, split=split, streaming=streaming)
    except Exception as error:
        raise MissingResourceError(
            f"cannot read {repo} ({config}, {split}) from the hub: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}"
        ) from None
    return iter(rows)


def _local_rows(datasets: Any, root: Path, config: str, split: str) -> Iterable[Any]:
    for suffix, builder in ((".jsonl", "json"), (".parquet", "parquet")):
        path = root / config / f"{split}{suffix}"
        if path.is_file():
            rows: Iterable[Any] = datasets.load_dataset(
                builder, data_files=str(path), split="train"
            )
            return rows
    raise MissingResourceError(f"no {root}/{config}/{split}.jsonl or .parquet")


SOURCES.add("flores", Source(read_flores, offline=False, local_with_path=True))
SOURCES.add("wikipedia", Source(read_wikipedia, offline=False, local_with_path=True))
