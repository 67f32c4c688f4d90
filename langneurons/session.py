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
from dataclasses import dataclass
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


class BenchmarkSession:
    """Validated options, and the lazily loaded model and neuron sets.

    ``--neurons`` may name several sets, comma-separated (files or methods); every
    method is identified on the same statistics, collected once, and every task
    runs for each set. Perplexities of the unmodified model are shared between sets.
    """

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.timings = Timings()
        self.shared: dict[Any, Any] = {}
        self.neurons_paths: dict[str, Path] = {}
        self._handle: ModelHandle | None = None
        self._stats: ActivationStats | None = None
        self._contexts: dict[str, RunContext] = {}
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
        self.specs = [spec.strip() for spec in options.neurons.split(",") if spec.strip()]
        if not self.specs or len(set(self.specs)) != len(self.specs):
            raise ConfigError(f"--neurons {options.neurons}: give distinct files or methods")
        self.files = {spec: _neurons_file(spec) for spec in self.specs}
        for spec, path in self.files.items():
            if path is None:
                method(spec)
            else:
                self._check_set(neuron_set.load(path), str(path))
        for task in self.tasks:
            self._check_data(task.corpus, task.languages, task.fields.data.split)
        if None in self.files.values():
            identify_data = CorpusSpec.parse(options.identify_data)
            check_source(identify_data)
            self._check_data(identify_data, self.languages, "identify")

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

    @property
    def histograms(self) -> bool:
        """Whether a task needs activation histograms (percentile steering values)."""
        return any(task.fields.needs_histograms() for task in self.tasks)

    @cached_property
    def shape(self) -> ModelShape:
        """The model's shape, read from its config (prepares a packaged model once)."""
        return model_shape(prepared(self.source))

    def load(self) -> ModelHandle:
        """Load the model once (converting a packaged one first if needed)."""
        if self._handle is None:
            with self.timings.phase("load model"):
                self._handle = load_model(
                    prepared(self.source), self.options.dtype, self.options.device
                )
        return self._handle

    def context(self, spec: str) -> RunContext:
        """The model and the neuron set of ``spec``; the expensive part of a run."""
        if spec not in self._contexts:
            handle = self.load()
            self._contexts[spec] = RunContext(
                handle,
                self.neuron_set(handle, spec),
                self.options.batch_size,
                self.options.seed,
                self.timings,
                lambda: self.statistics(handle),
                self.options.progress,
                self.shared,
            )
        return self._contexts[spec]

    def neuron_set(self, handle: ModelHandle, spec: str) -> NeuronSet:
        """Return the set of ``spec``: a file's, or identified on the fly (kept on disk)."""
        path = self.files[spec]
        if path is not None:
            self.neurons_paths[spec] = path
            return neuron_set.load(path)
        stats = self.statistics(handle)
        with self.timings.phase("identify"):
            found = identify(spec, stats)
        self.neurons_paths[spec] = self.identified_path(stats, spec)
        neuron_set.dump(found, self.neurons_paths[spec])
        return found

    def statistics(self, handle: ModelHandle) -> ActivationStats:
        """Activation statistics on the identification corpus: once per run, cached on disk."""
        if self._stats is not None:
            return self._stats
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
        if self.histograms:
            fields["histograms"] = True
        path = cache.statistics_path(info.name, cache.statistics_key(fields))
        provenance = {
            "model": _model_record(info.to_dict()),
            "site": handle.architecture.site,
            "corpus": f"{corpus.describe()}:identify",
            "corpus_sha256": sha,
        }
        with self.timings.phase("statistics"):
            self._stats, _ = cache.cached_statistics(
                path, lambda: _collect(handle, texts, provenance, self.options, self.histograms)
            )
        return self._stats

    def identified_path(self, stats: ActivationStats, spec: str) -> Path:
        """Where a set identified on the fly is kept (a file users can pass to --neurons)."""
        digest = hashlib.sha256(json.dumps(stats.provenance, sort_keys=True).encode()).hexdigest()
        return neuron_sets_dir() / self.source.name / f"{spec}-{digest[:12]}.json"

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
    histograms: bool,
) -> ActivationStats:
    from langneurons.statistics import collect

    return collect(
        handle,
        texts,
        window=STATISTICS_WINDOW,
        batch_size=options.batch_size,
        provenance=provenance,
        progress=options.progress,
        histograms=histograms,
    )
