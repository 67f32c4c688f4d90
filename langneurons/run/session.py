"""A benchmark run: options validated up front, then model, neuron set and cells.

Construction is cheap and does every check that can fail on user input (device,
task files and their names, languages, neuron-set specs and their names, data
presence, the model's files, architecture and shape), so bad input fails in one
line before any model loads. The checks that need the model's config come last:
for a packaged model, reading it means converting the model first.
:meth:`BenchmarkSession.context` then loads the model and produces the neuron
set: from a file, or identified on the fly by a registered method on cached
statistics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from langneurons.canonical import sha256_of
from langneurons.errors import ConfigError, MissingResourceError, UnsupportedModelError
from langneurons.models.handle import (
    ModelShape,
    check_device,
    check_model_files,
    load_model,
    model_shape,
    prepared,
    resolve_model,
)
from langneurons.neurons import sets, sharding
from langneurons.neurons import stats_cache as cache
from langneurons.neurons.collection import STATISTICS_WINDOW, collect
from langneurons.neurons.identification import identify, is_method, method
from langneurons.neurons.vector_set import VectorSet
from langneurons.paths import neuron_sets_dir
from langneurons.registry import unknown_message
from langneurons.report.results import ModelRecord, NeuronSetRecord
from langneurons.run.placement import worker_gpus
from langneurons.tasks.context import RunContext, Timings
from langneurons.tasks.protocol import Cell, CellResult, task_kind
from langneurons.tasks.spec import TaskFields, TaskSpec, budget_where, load_task
from langneurons.text.corpus import (
    CorpusSpec,
    Split,
    check_source,
    corpus_sha256,
    identification,
    paragraphs,
    readable_offline,
)
from langneurons.text.languages import check_languages
from langneurons.text.sources import libreoffice_help
from langneurons.text.windows import check_budget

if TYPE_CHECKING:
    from langneurons.models.handle import Device, Dtype, ModelHandle
    from langneurons.neurons.sets import InterventionSet
    from langneurons.neurons.sharding import Share
    from langneurons.neurons.statistics import ActivationStats


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
    identify_data: str = libreoffice_help.NAME
    #: text tokens per language the statistics take (None: the source's default budget)
    identify_tokens: int | None = None
    #: text tokens per model input of the statistics pass
    identify_window: int = STATISTICS_WINDOW
    progress: bool = True
    trust_task_code: bool = False
    share_gpus: bool = False
    #: collect only this share of the statistics pass (``identify --shard K/N``)
    shard: Share | None = None


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
        self.gpus: tuple[int, ...] | None = None
        self._handle: ModelHandle | None = None
        self._stats: ActivationStats | None = None
        self._contexts: dict[str, RunContext] = {}
        self._evaluators: dict[tuple[str, str], Callable[[Cell], CellResult]] = {}
        self._records: dict[str, tuple[ModelRecord, NeuronSetRecord]] = {}
        for name in ("batch_size", "identify_tokens", "identify_window"):
            value = getattr(options, name)
            if value is not None and value < 1:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag} must be at least 1, got {value}")
        check_device(options.device)
        if not options.tasks and not options.langs:
            raise ConfigError("give task files (--tasks) or languages (--langs)")
        langs = list(options.langs) if options.langs else None
        if langs is not None:
            check_languages(langs, "--langs")
        tasks = [load_task(path) for path in options.tasks]
        _check_task_names(tasks)
        if langs is not None and tasks:
            _check_langs_covered(langs, tasks)
        self.tasks = [t.with_languages(langs) if langs else t for t in tasks]
        for task in self.tasks:
            task_kind(task.kind).preflight(task, options.trust_task_code)
        self.source = resolve_model(options.model, options.revision)
        self.specs = [spec.strip() for spec in options.neurons.split(",") if spec.strip()]
        if not self.specs or len(set(self.specs)) != len(self.specs):
            raise ConfigError(f"--neurons {options.neurons}: give distinct files or methods")
        self.files = {spec: _neurons_file(spec) for spec in self.specs}
        _check_set_names(self.specs)
        given: dict[str, InterventionSet] = {}
        for spec, path in self.files.items():
            if path is None:
                method(spec)
            else:
                given[str(path)] = sets.load(path)
        for task in self.tasks:
            self._check_data(task.corpus, task.languages, task.fields.data.split)
        if None in self.files.values():
            check_source(self.identify_corpus)
            self._check_data(self.identify_corpus, self.languages, "identify")
        self._check_model()  # last: a packaged model is converted to read its config
        for where, chosen in given.items():
            self._check_set(chosen, where)
        self._check_budgets()

    @property
    def identify_corpus(self) -> CorpusSpec:
        """The text methods identify on (``--identify-data``) and its token budget.

        The budget is ``--identify-tokens``, else the source's own default: 30,000
        for the Debian sources, the whole identify split of the others.
        """
        return identification(self.options.identify_data, self.options.identify_tokens)

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

    @property
    def unit_means(self) -> bool:
        """Whether a method (Kojima et al.'s AP) or a task (``unit_p50``) needs unit means."""
        methods = [method(spec) for spec, path in self.files.items() if path is None]
        return any(m.unit_means for m in methods) or any(
            task.fields.needs_unit_means() for task in self.tasks
        )

    @property
    def residual(self) -> bool:
        """Whether a vector method (DiffMean) needs the residual sums."""
        return any(method(spec).residual for spec, path in self.files.items() if path is None)

    @cached_property
    def shape(self) -> ModelShape:
        """The model's shape, read from its config (prepares a packaged model once).

        Raises:
            UnsupportedModelError: transformers cannot read the config (malformed
                JSON, unknown ``model_type``), or no adapter fits its architecture.
        """
        source = prepared(self.source)
        try:
            return model_shape(source)
        except (OSError, ValueError) as error:  # transformers' errors for a bad config
            raise UnsupportedModelError(
                f"model '{self.options.model}': cannot read {source.folder}/config.json: "
                f"{str(error).splitlines()[0]}"
            ) from None

    def place(self, worker: int, workers: int) -> None:
        """Give pytest worker ``worker`` of ``workers`` its own GPUs, or its share of the cores.

        See :mod:`langneurons.run.placement`; one process keeps every GPU and core.
        """
        if workers <= 1:
            return
        groups = worker_gpus(workers, self.options.device, self.options.share_gpus)
        if groups is not None:
            self.gpus = groups[worker]
            return
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))

    def load(self) -> ModelHandle:
        """Load the model once (converting a packaged one first if needed)."""
        if self._handle is None:
            with self.timings.phase("load model"):
                self._handle = load_model(
                    prepared(self.source), self.options.dtype, self.options.device, self.gpus
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
                self.options.trust_task_code,
            )
        return self._contexts[spec]

    def evaluator(self, spec: str, task: TaskSpec[TaskFields]) -> Callable[[Cell], CellResult]:
        """The cell evaluator of ``task`` for set ``spec``, made once: it shares work between cells."""
        key = (spec, task.name)
        if key not in self._evaluators:
            self._evaluators[key] = task_kind(task.kind).evaluator(task, self.context(spec))
        return self._evaluators[key]

    def records(self, spec: str) -> tuple[ModelRecord, NeuronSetRecord]:
        """The model and neuron-set records of ``spec`` as results files hold them, built once."""
        if spec not in self._records:
            chosen, info = self.context(spec).neuron_set, self.context(spec).handle.info
            self._records[spec] = (
                TypeAdapter(ModelRecord).validate_python(asdict(info)),
                NeuronSetRecord(
                    sha256=chosen.sha256(),
                    kind="vectors" if isinstance(chosen, VectorSet) else "neurons",
                    method=chosen.method,
                    source=str(self.neurons_paths[spec]),
                    neurons={lang: chosen.count(lang) for lang in chosen.languages},
                    per_layer={lang: chosen.counts_per_layer(lang) for lang in chosen.languages},
                    statistics=chosen.statistics,
                ),
            )
        return self._records[spec]

    def neuron_set(
        self, handle: ModelHandle, spec: str, params: dict[str, Any] | None = None
    ) -> InterventionSet:
        """Return the set of ``spec``: a file's, or identified on the fly (kept on disk).

        ``params`` are a method's non-default parameters (``identify --param``).
        """
        path = self.files[spec]
        if path is not None:
            self.neurons_paths[spec] = path
            return sets.load(path)
        stats = self.statistics(handle)
        with self.timings.phase("identify"):
            found = identify(spec, stats, params)
        self.neurons_paths[spec] = self.identified_path(stats, spec, params)
        if sharding.leads():  # torchrun's other ranks write nothing
            sets.dump(found, self.neurons_paths[spec])
        return found

    def statistics(self, handle: ModelHandle) -> ActivationStats:
        """Activation statistics on the identification corpus: once per run, cached on disk.

        Under torchrun each rank collects its share and all get the all-reduced sum
        (cached under the same key as one process's). A ``shard`` option collects
        that share alone, never cached: the cache holds whole passes only.
        """
        if self._stats is not None:
            return self._stats
        corpus = self.identify_corpus
        texts = {lang: paragraphs(corpus, lang, "identify") for lang in self.languages}
        sha = corpus_sha256(texts)
        info = handle.info
        fields = {
            "model": info.source,
            "revision": info.revision,
            "dtype": info.dtype,
            "site": handle.architecture.site,
            "corpus_sha256": sha,
            "window": self.options.identify_window,
        }
        if corpus.tokens is not None:  # older keys stay as they were
            fields["max_tokens"] = corpus.tokens
        if self.histograms:
            fields["histograms"] = True
        if self.unit_means:
            fields["unit_means"] = True
        if self.residual:
            fields["residual"] = True
        fields["halves"] = "alternate windows"  # older entries lack the split halves
        path = cache.statistics_path(info.name, cache.statistics_key(fields))
        provenance = {
            "model": info.identity().model_dump(),
            "dtype": info.dtype,
            "site": handle.architecture.site,
            "corpus": f"{corpus.describe()}:identify",
            "corpus_sha256": sha,
        }

        def compute(share: Share) -> ActivationStats:
            return _collect(
                handle,
                texts,
                provenance,
                self.options,
                corpus.tokens,
                share,
                self.histograms,
                self.unit_means,
                self.residual,
            )

        rank = sharding.rank_share(handle.model.device)
        with self.timings.phase("statistics"):
            if self.options.shard is not None:
                self._stats = compute(self.options.shard)
            elif rank is None:
                self._stats, _ = cache.cached_statistics(path, lambda: compute(sharding.WHOLE))
            else:
                self._stats, _ = cache.cached_by_ranks(
                    path, lambda: sharding.all_reduce(compute(rank))
                )
        return self._stats

    def identified_path(
        self, stats: ActivationStats, spec: str, params: dict[str, Any] | None = None
    ) -> Path:
        """Where a set identified on the fly is kept (a file users can pass to --neurons).

        The defaults' name is the statistics' digest; other parameters add to it.
        """
        digest = sha256_of(
            {"statistics": stats.provenance, "params": params} if params else stats.provenance
        )
        return neuron_sets_dir() / self.source.name / f"{spec}-{digest[:12]}.json"

    def _check_model(self) -> None:
        """Fail on a local folder without weights or tokenizer, or an unsupported architecture.

        A packaged model is the project's own conversion of a supported family, and
        reading its config would mean converting it first: its shape is read only
        when a neuron set needs checking against it.
        """
        check_model_files(self.source, self.options.model)
        if self.source.package is None:
            self._check_context(self.shape)

    def _check_context(self, shape: ModelShape) -> None:
        """Fail on windows that, with BOS, outgrow the positions the model was trained on."""
        inputs = [
            (f"{task.path}: window", tokens)
            for task in self.tasks
            if (tokens := task.fields.input_tokens()) is not None
        ]
        if None in self.files.values():
            inputs.append(("--identify-window", self.options.identify_window))
        for what, tokens in inputs:
            if shape.max_positions is not None and tokens + 1 > shape.max_positions:
                raise ConfigError(
                    f"{what} {tokens} needs {tokens + 1} positions with BOS, more than model "
                    f"'{self.options.model}' has ({shape.max_positions}); use at most "
                    f"{shape.max_positions - 1}"
                )

    def _check_budgets(self) -> None:
        """Fail on text short of a token budget, a task's or identification's (tokenizer, no model).

        A budget travels as its text's ``CorpusSpec.tokens``.
        """
        texts: list[tuple[CorpusSpec, Split, list[str], Callable[[str], str]]] = [
            (task.corpus, task.fields.data.split, task.languages, partial(budget_where, task))
            for task in self.tasks
        ]
        if None in self.files.values():
            identify = self.identify_corpus
            texts.append((identify, "identify", self.languages, partial(_identify_where, identify)))
        if self.source.folder is None:
            return  # a packaged model not converted yet: its windows check the budget
        tokenizer = None
        for corpus, split, languages, where_of in texts:
            if corpus.tokens is None or not readable_offline(corpus):
                continue
            if tokenizer is None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(self.source.folder)
            for lang in languages:
                text = paragraphs(corpus, lang, split)
                check_budget(tokenizer, text, corpus.tokens, where_of(lang))

    def _check_set(self, chosen: InterventionSet, where: str) -> None:
        shape = self.shape
        sets.check_compatible(
            chosen,
            (shape.num_layers, shape.neurons_per_layer),
            where,
            self.options.model,
            shape.hidden_size,
        )
        for task in self.tasks:
            missing = [lang for lang in task.languages if lang not in chosen.languages]
            if missing:
                raise ConfigError(
                    f"neuron set {where} has no languages {', '.join(missing)} needed by task "
                    f"'{task.name}' (it has {', '.join(chosen.languages)}); restrict with --langs"
                )

    @staticmethod
    def _check_data(corpus: CorpusSpec, languages: list[str], split: str) -> None:
        if not readable_offline(corpus):
            return
        for lang in languages:
            if not paragraphs(corpus, lang, split):  # type: ignore[arg-type]
                raise MissingResourceError(f"{corpus.describe()} has no {split} text for '{lang}'")


def _identify_where(corpus: CorpusSpec, lang: str) -> str:
    """How a budget error names identification text (as :func:`budget_where` does a task's)."""
    return f"--identify-tokens: {lang} text ({corpus.describe()}, identify)"


def options_from(values: dict[str, Any], folder: Path) -> RunOptions:
    """RunOptions from the options as typed (strings, comma-separated lists).

    ``folder`` holds the repository's task files: every one when no task is given,
    and the names ``--tasks`` may use.
    """
    given = [spec.strip() for spec in (values["tasks"] or "").split(",") if spec.strip()]
    tasks = resolve_tasks(given, folder) if given else tuple(sorted(folder.glob("*.yaml")))
    langs = tuple(values["langs"].split(",")) if values["langs"] else None
    return RunOptions(
        **{**values, "tasks": tasks, "langs": langs, "results_dir": Path(values["results_dir"])}
    )


def resolve_tasks(specs: Iterable[str], folder: Path) -> tuple[Path, ...]:
    """Turn ``--tasks`` values into task files: paths as given, names through ``folder``.

    A value ending in ``.yaml``/``.yml`` or containing a path separator is a file;
    any other is the ``name`` field of a task file in ``folder`` (the repository's
    ``tasks/``), the way lm-eval's ``--tasks`` takes task names.

    Raises:
        ConfigError: a value is a folder, or a name no task file in ``folder`` has.
    """
    paths: list[Path] = []
    names: dict[str, Path] | None = None
    for spec in specs:
        path = Path(spec).expanduser()
        is_file = path.suffix in (".yaml", ".yml") or _has_separator(spec)
        if is_file and not path.is_dir():
            paths.append(path)
            continue
        if names is None:
            files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
            names = {load_task(file).name: file for file in files}
        if spec in names and not is_file:
            paths.append(names[spec])  # a name, even where a folder of that name exists
            continue
        if path.is_dir():
            raise ConfigError(f"--tasks {spec} is a folder; give task files or task names")
        if spec not in names:
            raise ConfigError(
                f"--tasks: {unknown_message('task', spec, names)} (names from {folder}), "
                "or give a task file"
            )
    return tuple(paths)


def check_output_folder(folder: Path, option: str) -> None:
    """Fail now if ``folder`` cannot be created or written, not after every cell ran.

    Creates nothing: the folder, or its nearest existing parent, must be a
    writable folder.

    Raises:
        ConfigError: it, or a parent, is a file; or that folder is not writable.
    """
    existing = folder.expanduser()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == folder.expanduser() else f": {existing}"
        raise ConfigError(f"{option} {folder}{where} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {folder}: cannot write to {existing}; give a writable folder")


def check_output_file(path: Path, option: str) -> None:
    """Fail now if the file ``path`` cannot be written (it is a folder, or in no writable one).

    Raises:
        ConfigError: as :func:`check_output_folder`, or ``path`` is a folder.
    """
    if path.expanduser().is_dir():
        raise ConfigError(f"{option} {path} is a folder; give a file name")
    check_output_folder(path.expanduser().parent, option)


def _neurons_file(spec: str) -> Path | None:
    """Return the neuron-set file ``spec`` names, or None when it names a method.

    A registered method name is the method even when a file or folder of that name
    sits in the current directory, unless the spec ends in ``.json`` or contains a
    path separator (``./lape`` is the file). Any other existing path is a file;
    anything else is looked up as a method.
    """
    path = Path(spec).expanduser()
    if not (spec.endswith(".json") or _has_separator(spec)) and (
        is_method(spec) or not path.exists()
    ):
        return None
    if path.is_dir():
        raise ConfigError(f"--neurons {spec} is a folder, not a neuron-set file")
    if not path.is_file():
        raise ConfigError(f"--neurons {spec}: no such file")
    return path


def _has_separator(spec: str) -> bool:
    return "/" in spec or os.sep in spec or bool(os.altsep and os.altsep in spec)


def _check_task_names(tasks: list[TaskSpec[TaskFields]]) -> None:
    """Task names key cells and results, so two files of one name would mix their cells."""
    seen: dict[str, Path] = {}
    for task in tasks:
        first = seen.get(task.name)
        if first is None:
            seen[task.name] = task.path
            continue
        if first.resolve() == task.path.resolve():
            raise ConfigError(f"--tasks: task file {task.path} is given twice")
        raise ConfigError(
            f"task files {first} and {task.path} are both named '{task.name}'; rename one "
            "(the name keys its cells in the results file)"
        )


def _check_langs_covered(langs: list[str], tasks: list[TaskSpec[TaskFields]]) -> None:
    """A ``--langs`` code that no task has would be dropped without a word."""
    covered = {lang for task in tasks for lang in task.languages}
    missing = [lang for lang in langs if lang not in covered]
    if missing:
        raise ConfigError(
            f"--langs: no task has {', '.join(missing)} "
            f"(the tasks have {', '.join(sorted(covered))}); drop it or add a task that has it"
        )


def _check_set_names(specs: list[str]) -> None:
    """Results files and cell ids name a set by its stem: two sets of one stem would collide."""
    seen: dict[str, str] = {}
    for spec in specs:
        first = seen.setdefault(Path(spec).stem, spec)
        if first != spec:
            raise ConfigError(
                f"--neurons {first} and {spec} are both named '{Path(spec).stem}' in results "
                "file names and cell ids; rename one"
            )


def _collect(
    handle: ModelHandle,
    texts: dict[str, list[str]],
    provenance: dict[str, Any],
    options: RunOptions,
    max_tokens: int | None,
    share: Share,
    histograms: bool,
    unit_means: bool,
    residual: bool,
) -> ActivationStats:
    return collect(
        handle,
        texts,
        window=options.identify_window,
        batch_size=options.batch_size,
        max_tokens=max_tokens,
        provenance=provenance,
        progress=options.progress and sharding.leads(),
        histograms=histograms,
        share=share,
        unit_means=unit_means,
        residual=residual,
    )
