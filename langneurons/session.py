"""A benchmark run: options validated up front, then model, neuron set and cells.

Construction is cheap and does every check that can fail on user input (model
spec, task files, languages, neuron-set file and its shape, data presence), so
bad input fails in one line before any model loads. :meth:`BenchmarkSession.context`
then loads the model and produces the neuron set: from a file, or identified on
the fly by a registered method on cached statistics.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons import cache, neuron_set
from langneurons.context import RunContext, Timings
from langneurons.corpus import CorpusSpec, check_source, corpus_sha256, paragraphs
from langneurons.errors import ConfigError, MissingResourceError
from langneurons.languages import check_languages
from langneurons.method import identify, method
from langneurons.model_handle import (
    ModelShape,
    load_model,
    model_shape,
    prepared,
    resolve_model,
)
from langneurons.paths import neuron_sets_dir
from langneurons.task_spec import load_task

if TYPE_CHECKING:
    from langneurons.model_handle import Device, Dtype, ModelHandle
    from langneurons.neuron_set import NeuronSet
    from langneurons.statistics import ActivationStats

STATISTICS_WINDOW = 512


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for (the pytest options, or the CLI's)."""

    model: str = "gemma-3-270m"
    revision: str | None = None
    neurons: str = "lape"
    tasks: tuple[Path, ...] = ()
    langs: tuple[str, ...] | None = None
    results_dir: Path = Path("results")
    device: Device = "auto"
    dtype: Dtype = "auto"
    batch_size: int = 4
    seed: int = 0
    identify_data: str = "udhr"
    progress: bool = True
    method_params: dict[str, Any] = field(default_factory=dict)


class BenchmarkSession:
    """Validated options, and the lazily loaded model and neuron set."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.timings = Timings()
        self.neurons_path: Path | None = None
        if options.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {options.batch_size}")
        if not options.tasks and not options.langs:
            raise ConfigError("give task files (--tasks) or languages (--langs)")
        langs = list(options.langs) if options.langs else None
        if langs is not None:
            check_languages(langs, "--langs")
        tasks = [load_task(path) for path in options.tasks]
        self.tasks = [t.with_languages(langs) if langs else t for t in tasks]
        self.source = resolve_model(options.model, options.revision)
        self.neurons_file = _neurons_file(options.neurons)
        if self.neurons_file is None:
            method(options.neurons)
            check_source(CorpusSpec.parse(options.identify_data))
        else:
            self._check_set(neuron_set.load(self.neurons_file), str(self.neurons_file))
        for task in self.tasks:
            self._check_data(task.corpus, task.languages, task.fields.data.split)
        if self.neurons_file is None:
            self._check_data(CorpusSpec.parse(options.identify_data), self.languages, "identify")

    @property
    def languages(self) -> list[str]:
        """Every task language in first-seen order, or ``--langs`` when there are no tasks.

        These are the languages neurons are identified for.
        """
        if not self.tasks:
            return list(self.options.langs or ())
        seen: dict[str, None] = {}
        for task in self.tasks:
            seen.update(dict.fromkeys(task.languages))
        return list(seen)

    @cached_property
    def shape(self) -> ModelShape:
        """The model's shape, read from its config (prepares a packaged model once)."""
        return model_shape(prepared(self.source))

    def load(self) -> ModelHandle:
        """Load the model (converting a packaged one first if needed)."""
        with self.timings.phase("load model"):
            return load_model(prepared(self.source), self.options.dtype, self.options.device)

    def context(self) -> RunContext:
        """Load the model and the neuron set; the expensive part of a run."""
        handle = self.load()
        chosen = self.neuron_set(handle)
        return RunContext(
            handle,
            chosen,
            self.options.batch_size,
            self.options.seed,
            self.timings,
            self.options.progress,
        )

    def neuron_set(self, handle: ModelHandle) -> NeuronSet:
        """Return the set under test: the file's, or identified on the fly (cached)."""
        if self.neurons_file is not None:
            self.neurons_path = self.neurons_file
            return neuron_set.load(self.neurons_file)
        stats = self.statistics(handle)
        with self.timings.phase("identify"):
            found = identify(self.options.neurons, stats, self.options.method_params)
        self.neurons_path = self.identified_path(stats)
        neuron_set.dump(found, self.neurons_path)
        return found

    def statistics(self, handle: ModelHandle) -> ActivationStats:
        """Activation statistics on the identification corpus, from the cache when present."""
        corpus = CorpusSpec.parse(self.options.identify_data)
        texts = {lang: paragraphs(corpus, lang, "identify") for lang in self.languages}
        sha = corpus_sha256(texts)
        info = handle.info
        fields = {
            "model": info.source,
            "revision": info.revision,
            "dtype": info.dtype,
            "site": handle.architecture.site,
            "corpus_sha256": sha,
            "window": STATISTICS_WINDOW,
        }
        path = cache.statistics_path(info.name, cache.statistics_key(fields))
        provenance = {
            "model": _model_record(info.to_dict()),
            "site": handle.architecture.site,
            "corpus": f"{corpus.describe()}:identify",
            "corpus_sha256": sha,
        }
        with self.timings.phase("statistics"):
            stats, _ = cache.cached_statistics(
                path, lambda: _collect(handle, texts, provenance, self.options)
            )
        return stats

    def identified_path(self, stats: ActivationStats) -> Path:
        """Where a set identified on the fly is kept (a file users can pass to --neurons)."""
        digest = hashlib.sha256(
            json.dumps([stats.provenance, self.options.method_params], sort_keys=True).encode()
        ).hexdigest()
        return neuron_sets_dir() / self.source.name / f"{self.options.neurons}-{digest[:12]}.json"

    def _check_set(self, chosen: NeuronSet, where: str) -> None:
        neuron_set.check_compatible(chosen, self.shape, where, self.options.model)
        for task in self.tasks:
            missing = [lang for lang in task.languages if lang not in chosen.languages]
            if missing:
                raise ConfigError(
                    f"neuron set {where} has no languages {', '.join(missing)} needed by task "
                    f"'{task.name}' (it has {', '.join(chosen.languages)}); restrict with --langs"
                )

    @staticmethod
    def _check_data(corpus: CorpusSpec, languages: list[str], split: str) -> None:
        if corpus.source in ("flores", "wikipedia"):
            return  # read when used; checking would download
        for lang in languages:
            if not paragraphs(corpus, lang, split):  # type: ignore[arg-type]
                raise MissingResourceError(f"{corpus.describe()} has no {split} text for '{lang}'")


def _neurons_file(spec: str) -> Path | None:
    path = Path(spec).expanduser()
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise ConfigError(f"--neurons {spec}: no such file")
        return path
    return None


def _model_record(info: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "source", "revision", "architecture", "num_layers", "neurons_per_layer")
    return {key: info[key] for key in keys}


def _collect(
    handle: ModelHandle,
    texts: dict[str, list[str]],
    provenance: dict[str, Any],
    options: RunOptions,
) -> ActivationStats:
    from langneurons.statistics import collect

    return collect(
        handle,
        texts,
        window=STATISTICS_WINDOW,
        batch_size=options.batch_size,
        provenance=provenance,
        progress=options.progress,
    )
