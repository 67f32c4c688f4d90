"""A small multilingual multiple-choice set, written by the project, as lm-eval tasks.

For each language, one item per concept of :mod:`langneurons.text.concepts`: the cloze
sentence with its answer label, and four words of that language to choose from
(the concept's own and three others drawn with a seeded generator). It lets
lm-eval run offline: ``write_tasks(folder, languages)`` writes
``concepts_choice.<lang>.jsonl`` and an lm-eval task file ``langneurons_concepts_<lang>``
(YAML, ``output_type: multiple_choice``, metric ``acc``) per language, for
``lm_eval.tasks.TaskManager(include_path=folder)``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from langneurons.atomic_write import atomic_write_text
from langneurons.text.concepts import load_concepts

CHOICES = 4

_TASK = """task: langneurons_concepts_{lang}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: question
doc_to_choice: choices
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1
"""


def items(lang: str, seed: int = 0) -> list[dict[str, object]]:
    """The multiple-choice items of ``lang``: question, four choices, index of the answer."""
    data = load_concepts()
    data.require([lang])
    found = []
    for concept in data.concepts:
        rng = random.Random(f"{seed}/{lang}/{concept.name}")
        others = rng.sample([c for c in data.concepts if c is not concept], CHOICES - 1)
        choices = [c.words[lang] for c in [concept, *others]]
        rng.shuffle(choices)
        question = f"{concept.cloze[lang]} {data.answers[lang]}"
        found.append(
            {"question": question, "choices": choices, "label": choices.index(concept.words[lang])}
        )
    return found


def write_tasks(folder: Path, languages: list[str], seed: int = 0) -> list[str]:
    """Write the data and lm-eval task file of each language; return the task names."""
    names = []
    for lang in languages:
        data = folder / f"concepts_choice.{lang}.jsonl"
        lines = [json.dumps(item, ensure_ascii=False) for item in items(lang, seed)]
        atomic_write_text(data, "\n".join(lines) + "\n")
        atomic_write_text(
            folder / f"langneurons_concepts_{lang}.yaml",
            _TASK.format(lang=lang, data=json.dumps(str(data.resolve()))),
        )
        names.append(f"langneurons_concepts_{lang}")
    return names
