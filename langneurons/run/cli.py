"""The ``langneurons`` command line (``langneurons --help`` lists the subcommands).

Each subcommand parses its arguments and calls the library. A ``LangneuronsError``
is printed as one line without a traceback (exit code 2); bugs keep their
tracebacks. Benchmarks run through pytest: ``pytest benchmark/``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from langneurons.errors import ConfigError, LangneuronsError
from langneurons.neurons.collection import STATISTICS_WINDOW
from langneurons.text.sources import libreoffice_help, udhr

if TYPE_CHECKING:
    from langneurons.records import ModelIdentity

#: what a bare ``langneurons prepare`` parses: the text the shipped tasks and defaults read
DEFAULT_SOURCES = (udhr.NAME, libreoffice_help.NAME)
#: a decimal number as --param writes it: 3, -0.25, 1e-3, .5
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

EXAMPLES = """examples:
  langneurons prepare --model gemma-3-270m --model smollm2-135m
  langneurons identify --method lape --model gemma-3-270m --langs en,de,zh --out lape.json \\
      --stats-out gemma-stats.safetensors
  torchrun --nproc-per-node 2 -m langneurons identify --method lape --model gemma-3-270m \
      --langs en,de,zh --out lape.json
  langneurons identify --model gemma-3-270m --langs en,de,zh --shard 1/2 --stats-out part-1.safetensors
  langneurons merge-stats part-1.safetensors part-2.safetensors --out stats.safetensors
  langneurons import-neurons LLaMA-2-7B.neuron.pth --languages en,zh,fr,es,vi,id,ja \\
      --model llama-2-7b --shape 32x11008 --out llama-2-7b-lape.json
  langneurons import-stats --full 'activation.{lang}.Mistral.pt' \\
      --prefix 'prefix.activation.{lang}.Mistral.pt' --languages en,ru,es,fr,de,zh,ja,bn,th,sw \\
      --model mistral-7b --shape 32x14336 --out mgsm.safetensors
  langneurons identify --method zhang2025 --stats mgsm.safetensors --out zhang.json
  langneurons compare lape.json zhang.json --figure layers.png
  langneurons validate tasks/*.yaml neuron_sets/*/*.json
  langneurons lm-eval-tasks --out lm_eval_tasks --langs en,zh,ru
  langneurons leaderboard submit results/gemma-3-270m_lape_20261122T120000Z.json
  langneurons leaderboard build
  langneurons leaderboard check
  langneurons upgrade results/*.json
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except LangneuronsError as error:
        print(f"langneurons: error: {error}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    from langneurons.models.handle import DEVICES, DTYPES  # light: no torch
    from langneurons.neurons.identification import describe_methods  # light: no torch

    parser = argparse.ArgumentParser(
        prog="langneurons", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    prepare = sub.add_parser("prepare", help="convert packaged models and parse text (once)")
    prepare.add_argument(
        "--model", action="append", help="alias to prepare (default: gemma-3-270m)"
    )
    prepare.add_argument(
        "--source",
        action="append",
        help=f"text source to fetch and parse, printing its tokens per language (default: "
        f"{', '.join(DEFAULT_SOURCES)}, what the shipped tasks read, no table); one of "
        f"{', '.join(_preparable())}",
    )
    prepare.set_defaults(run=_prepare)

    ident = sub.add_parser(
        "identify",
        help="identify a neuron set (statistics cached)",
        epilog=describe_methods(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ident.add_argument("--method", default="lape", help="registered method (default: lape)")
    ident.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of the method, repeatable; the value is read as YAML (0.25, true, "
        "auto); the parameters are listed below",
    )
    ident.add_argument("--model", default="gemma-3-270m", help="alias, hub id or folder")
    ident.add_argument("--revision", default=None, help="hub revision")
    ident.add_argument(
        "--langs", default="en,de,fr,es,ru,zh,ja,vi,id", help="comma-separated codes"
    )
    ident.add_argument(
        "--data",
        default=libreoffice_help.NAME,
        help=f"corpus, source or source:path (default: {libreoffice_help.NAME})",
    )
    ident.add_argument(
        "--tokens",
        type=int,
        default=None,
        help="text tokens per language (default: the source's, 30000 for the Debian sources, "
        "all the text of others)",
    )
    ident.add_argument(
        "--window",
        type=int,
        default=None,
        help=f"text tokens per model input (default: {STATISTICS_WINDOW})",
    )
    ident.add_argument("--device", default="auto", choices=DEVICES, help="default: auto")
    ident.add_argument("--dtype", default="auto", choices=DTYPES, help="default: auto")
    ident.add_argument("--batch-size", type=int, default=4, help="windows per forward pass")
    ident.add_argument(
        "--stats", type=Path, default=None, help="identify on this statistics file; no model"
    )
    ident.add_argument(
        "--out", type=Path, default=None, help="neuron set file to write (not with --shard)"
    )
    ident.add_argument(
        "--stats-out",
        type=Path,
        default=None,
        help="also write the statistics (steering values for the lm-eval model's steer=)",
    )
    ident.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="collect share K of N of the statistics into --stats-out alone (no --out); "
        "sum the N files with merge-stats",
    )
    ident.set_defaults(run=_identify)

    merge = sub.add_parser("merge-stats", help="sum the statistics files of identify --shard K/N")
    merge.add_argument("shards", nargs="+", type=Path, help="the N shard files, each once")
    merge.add_argument("--out", type=Path, required=True, help="statistics file to write")
    merge.set_defaults(run=_merge_stats)

    imp = sub.add_parser("import-neurons", help="convert a published List[List[LongTensor]] file")
    imp.add_argument("file", type=Path, help="torch.save file, language x layer lists of indices")
    imp.add_argument("--languages", required=True, help="codes of the lists, in file order")
    _model_arguments(imp)
    imp.add_argument("--out", type=Path, required=True, help="neuron set file to write")
    imp.set_defaults(run=_import_neurons)

    stats = sub.add_parser("import-stats", help="convert published {total_tokens, over_zero} files")
    stats.add_argument(
        "--full", required=True, help="path with {lang}: counts over prompt + response"
    )
    stats.add_argument("--prefix", default=None, help="path with {lang}: counts over prompts alone")
    stats.add_argument("--languages", required=True, help="codes, in the order to stack them")
    _model_arguments(stats)
    stats.add_argument("--out", type=Path, required=True, help="statistics file to write")
    stats.set_defaults(run=_import_stats)

    comp = sub.add_parser("compare", help="compare neuron sets: sizes, categories, overlap, layers")
    comp.add_argument("sets", nargs="+", type=Path, help="neuron set files of one model shape")
    comp.add_argument("--figure", type=Path, default=None, help="write the per-layer plot (PNG)")
    comp.set_defaults(run=_compare)

    val = sub.add_parser("validate", help="validate task files, neuron sets and results files")
    val.add_argument("files", nargs="+", type=Path)
    val.add_argument(
        "--tasks",
        type=Path,
        default=Path("tasks"),
        help="task files results are checked against, as leaderboard submit does (default: tasks)",
    )
    val.add_argument(
        "--trust-task-code",
        action="store_true",
        help="accept task files that run code they name (lm-eval's !function)",
    )
    val.set_defaults(run=_validate)

    upgrade = sub.add_parser("upgrade", help="convert results files to the current format in place")
    upgrade.add_argument("files", nargs="+", type=Path, help="results files (results/1 or /2)")
    upgrade.set_defaults(run=_upgrade)

    choice = sub.add_parser(
        "lm-eval-tasks", help="write the concepts multiple-choice set as lm-eval tasks"
    )
    choice.add_argument("--out", type=Path, required=True, help="folder for data and task files")
    choice.add_argument("--langs", default="en,de,fr,es,ru,zh,ja,vi,id", help="comma-separated")
    choice.set_defaults(run=_lm_eval_tasks)

    board = sub.add_parser("leaderboard", help="file results into the leaderboard; build its pages")
    actions = board.add_subparsers(required=True, metavar="ACTION")
    submit = actions.add_parser("submit", help="validate a results file, file it, rebuild")
    submit.add_argument("results", type=Path, help="a results file of `pytest benchmark/`")
    build = actions.add_parser("build", help="regenerate README.md and index.html")
    check = actions.add_parser(
        "check", help="validate every filed entry as submit does, and that the pages are current"
    )
    for action, run in ((submit, _submit), (build, _build), (check, _check_board)):
        action.add_argument(
            "--leaderboard", type=Path, default=Path("leaderboard"), help="default: leaderboard"
        )
        action.add_argument("--tasks", type=Path, default=Path("tasks"), help="default: tasks")
        action.set_defaults(run=run)
    return parser


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model the file is for")
    parser.add_argument(
        "--shape", default=None, help="LAYERSxNEURONS, instead of the model's config"
    )
    parser.add_argument(
        "--architecture",
        default="LlamaForCausalLM",
        help="with --shape: the model's Hugging Face architecture, whose adapter names the site"
        " (default: LlamaForCausalLM)",
    )


def _model_identity(args: argparse.Namespace) -> tuple[ModelIdentity, str]:
    """The model and site an imported file is for, from --shape or the model's config."""
    from langneurons.models.architecture import architecture_named
    from langneurons.records import ModelIdentity

    if args.shape:
        layers, _, width = args.shape.lower().partition("x")
        if not (layers.isdigit() and width.isdigit()):
            raise ConfigError(f"--shape {args.shape}: expected LAYERSxNEURONS, e.g. 32x11008")
        site = architecture_named(args.architecture).site
        return ModelIdentity(
            name=args.model, num_layers=int(layers), neurons_per_layer=int(width)
        ), site
    from langneurons.models.handle import model_identity, resolve_model

    identity = model_identity(resolve_model(args.model))
    return identity, architecture_named(str(identity.architecture)).site


def _prepare(args: argparse.Namespace) -> None:
    """Prepare the models, then the sources; a source asked for by name prints its sizes."""
    from langneurons.columns import table
    from langneurons.models.handle import prepared, resolve_model
    from langneurons.registry import unknown_message
    from langneurons.text.corpus import SOURCES

    names = args.source or list(DEFAULT_SOURCES)
    for name in names:
        if name not in _preparable():
            raise ConfigError(
                f"--source: {unknown_message('source to prepare', name, _preparable())}"
            )
    folders = []
    for alias in args.model or ["gemma-3-270m"]:
        model = prepared(resolve_model(alias))
        print(f"model {alias}: {model.folder} ({model.revision})")
        folders.append(model.folder)
    for name in names:
        prepare = SOURCES.get(name).prepare
        assert prepare is not None  # _preparable() lists only sources that have one
        print(f"{name}: {prepare()}")
        if args.source:
            assert folders[0] is not None  # a prepared model has its folder
            rows = _token_counts(name, folders[0])
            print(table(["language", "identify tokens", "evaluate tokens"], rows))


def _preparable() -> list[str]:
    from langneurons.text.corpus import SOURCES

    return [name for name in SOURCES.names() if SOURCES.get(name).prepare is not None]


def _token_counts(name: str, tokenizer_folder: Path) -> list[list[str]]:
    """Tokens per language and split of a prepared source, with the first model's tokenizer."""
    from transformers import AutoTokenizer

    from langneurons.errors import MissingResourceError
    from langneurons.text.corpus import CorpusSpec, paragraphs
    from langneurons.text.languages import LANGUAGES

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    rows = []
    for lang in sorted(LANGUAGES):
        try:
            texts = [
                paragraphs(CorpusSpec(name), lang, split) for split in ("identify", "evaluate")
            ]
        except MissingResourceError:
            continue  # the source has no such language
        encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] if t else [] for t in texts]
        rows.append([lang, *(f"{sum(map(len, ids)):,}" for ids in encoded)])
    return rows


def _identify(args: argparse.Namespace) -> None:
    """Identify a set, or collect one shard; under torchrun, rank 0 alone writes and prints."""
    from langneurons.neurons import sets, sharding, statistics
    from langneurons.neurons.identification import identify, method, parse_params
    from langneurons.run.session import (
        BenchmarkSession,
        RunOptions,
        check_output_file,
    )

    chosen = method(args.method)  # a method, never a file (the session would take a file)
    params = _method_params(args.param)
    parse_params(args.method, chosen.params, params)  # a bad one fails before any model loads
    share = None if args.shard is None else sharding.parse_share(args.shard)
    if share is not None:
        if (args.out, args.stats, args.param) != (None, None, []):
            raise ConfigError(
                f"--shard {share} collects one part of the statistics into --stats-out; drop "
                "--out, --stats and --param, merge the parts with merge-stats, then identify --stats"
            )
        if args.stats_out is None:
            raise ConfigError(f"--shard {share} needs --stats-out, the file of this share")
        if sharding.launched():
            raise ConfigError("--shard under torchrun: the ranks share the pass already; give one")
    elif args.out is None:
        raise ConfigError("identify needs --out, the neuron set file to write")
    else:
        check_output_file(args.out, "--out")
    if args.stats_out is not None:
        check_output_file(args.stats_out, "--stats-out")
    for flag, value in (("--tokens", args.tokens), ("--window", args.window)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
        if value is not None and args.stats is not None:
            raise ConfigError(f"{flag} sets the statistics pass; --stats reads one: drop {flag}")
    if args.stats is not None:
        if args.stats_out is not None:
            raise ConfigError("--stats-out writes collected statistics; --stats reads a file")
        stats = statistics.load(args.stats)
        sharding.check_whole(stats, f"--stats {args.stats}")
        found = identify(args.method, stats, params)
    else:
        options = RunOptions(
            model=args.model,
            revision=args.revision,
            neurons=args.method,
            langs=tuple(args.langs.split(",")),
            device=sharding.rank_device(args.device),
            dtype=args.dtype,
            batch_size=args.batch_size,
            identify_data=args.data,
            identify_tokens=args.tokens,
            identify_window=STATISTICS_WINDOW if args.window is None else args.window,
            shard=share,
        )
        session = BenchmarkSession(options)
        handle = session.load()
        if share is not None:
            statistics.save(session.statistics(handle), args.stats_out)
            print(f"{args.stats_out}: statistics share {share} of {handle.info.name}")
            return
        found = session.neuron_set(handle, args.method, params)
        if args.stats_out is not None and sharding.leads():
            statistics.save(session.statistics(handle), args.stats_out)
            print(f"{args.stats_out}: statistics of {found.model.name}")
    if not sharding.leads():
        return
    sets.dump(found, args.out)
    counts = ", ".join(f"{lang} {found.count(lang)}" for lang in found.languages)
    print(f"{args.out}: {args.method} on {found.model.name}: {counts}")


def _method_params(pairs: list[str]) -> dict[str, object]:
    """``--param NAME=VALUE`` options as a dict: numbers as numbers, else YAML scalars (safe_load runs no code)."""
    import yaml

    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--param {pair}: write NAME=VALUE, e.g. --param depth=0.25")
        if name in params:
            raise ConfigError(f"--param {name} is given twice; give it once")
        if NUMBER.fullmatch(text):  # YAML 1.1 reads 1e-3 (no dot) as a string
            params[name] = float(text) if any(c in text for c in ".eE") else int(text)
            continue
        try:
            params[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--param {pair}: the value is not a YAML scalar") from None
    return params


def _merge_stats(args: argparse.Namespace) -> None:
    """Sum shard files into one statistics file; every shard is checked before it is written."""
    from langneurons.neurons import sharding, statistics
    from langneurons.run.session import check_output_file

    check_output_file(args.out, "--out")
    merged = sharding.merge(args.shards)
    statistics.save(merged, args.out)
    tokens = ", ".join(
        f"{lang} {n}" for lang, n in zip(merged.languages, merged.tokens.tolist(), strict=True)
    )
    print(f"{args.out}: {len(args.shards)} shards merged; tokens {tokens}")


def _import_neurons(args: argparse.Namespace) -> None:
    from langneurons.neurons import importers, neuron_set
    from langneurons.text.languages import check_languages

    languages = check_languages(args.languages.split(","), "--languages")
    if not args.file.is_file():  # before --model, which may convert a packaged model
        raise ConfigError(f"{args.file}: no such file")
    model, site = _model_identity(args)
    imported = importers.import_published(args.file, languages, model, site)
    neuron_set.dump(imported, args.out)
    print(
        f"{args.out}: {', '.join(f'{lang} {imported.count(lang)}' for lang in imported.languages)}"
    )


def _import_stats(args: argparse.Namespace) -> None:
    from langneurons.neurons import importers, statistics
    from langneurons.text.languages import check_languages

    languages = check_languages(args.languages.split(","), "--languages")
    importers.check_template(args.full, languages, "--full")  # before --model: cheap first
    if args.prefix is not None:
        importers.check_template(args.prefix, languages, "--prefix")
    model, site = _model_identity(args)
    stats = importers.import_counts(args.full, args.prefix, languages, model, site)
    statistics.save(stats, args.out)
    tokens = ", ".join(
        f"{lang} {n}" for lang, n in zip(languages, stats.tokens.tolist(), strict=True)
    )
    print(f"{args.out}: tokens {tokens}")


def _compare(args: argparse.Namespace) -> None:
    from langneurons.neurons import neuron_set
    from langneurons.neurons.comparison import compare, labels, render

    names = labels(args.sets)
    result = compare(
        {name: neuron_set.load(path) for name, path in zip(names, args.sets, strict=True)}
    )
    print(render(result))
    if args.figure is not None:
        from langneurons.report.plots import layer_distribution

        layer_distribution(result, args.figure)
        print(f"figure: {args.figure}")


def _validate(args: argparse.Namespace) -> None:
    """Check each file as a task, neuron or vector set, or results file; the first bad one ends it.

    It accepts what the benchmark and ``leaderboard submit`` accept: a task as a
    run checks it (an lm-eval ``include_path`` needs ``--trust-task-code``), a
    results file as ``submit`` checks it, short of its being filed already.
    """
    from langneurons.input_files import load_json
    from langneurons.neurons import neuron_set, vector_set
    from langneurons.report import submission
    from langneurons.tasks.protocol import task_kind
    from langneurons.tasks.spec import load_task

    for path in args.files:
        if path.suffix in (".yaml", ".yml"):
            task = load_task(path)
            task_kind(task.kind).preflight(task, args.trust_task_code)
            print(f"{path}: task {task.name} ({task.kind}), {len(task.languages)} languages")
            continue
        data = load_json(path, "neuron set or results file")
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object (a neuron set or results file)")
        if str(data.get("format", "")).startswith("langneurons.results"):
            _, reasons = submission.examine(path, Path("leaderboard"), args.tasks)
            if reasons:
                raise submission.SubmissionError("\n".join(f"{path}: {r}" for r in reasons))
            print(f"{path}: results file, as leaderboard submit accepts it")
        elif data.get("format") == vector_set.FORMAT:
            vector_set.from_dict(data, str(path))
            print(f"{path}: vector set")
        else:
            neuron_set.from_dict(data, str(path))
            print(f"{path}: neuron set")


def _upgrade(args: argparse.Namespace) -> None:
    """Rewrite each older results file as the current format; a current one stays as it is.

    Every file is checked before any is written: one refused file leaves them all unchanged.
    """
    from langneurons.input_files import load_json
    from langneurons.report import results

    upgraded = []
    for path in args.files:
        data = load_json(path, "results file")
        converted = results.upgrade(data, str(path))
        if data["format"] == results.FORMAT:
            print(f"{path}: already {results.FORMAT}, unchanged")
        else:
            upgraded.append((path, data["format"], converted))
    for path, found, converted in upgraded:
        results.dump(converted, path)
        print(f"{path}: {found} -> {results.FORMAT}")


def _lm_eval_tasks(args: argparse.Namespace) -> None:
    from langneurons.tasks.lm_eval_tasks import write_tasks
    from langneurons.text.languages import check_languages

    languages = args.langs.split(",")
    check_languages(languages, "--langs")
    names = write_tasks(args.out, languages)
    print(f"wrote {len(names)} lm-eval tasks to {args.out}: {','.join(names)}")
    print(f"use them with --include_path {args.out} --tasks {','.join(names)}")


def _submit(args: argparse.Namespace) -> None:
    from langneurons.report.leaderboard import build
    from langneurons.report.submission import submit

    print(f"filed {submit(args.results, args.leaderboard, args.tasks)}")
    for path in build(args.leaderboard):
        print(f"wrote {path}")


def _check_board(args: argparse.Namespace) -> None:
    from langneurons.report.leaderboard import outdated
    from langneurons.report.submission import SubmissionError, check_filed

    problems = check_filed(args.leaderboard, args.tasks)
    stale = [str(args.leaderboard / name) for name in outdated(args.leaderboard)]
    if stale:
        problems.append(f"{', '.join(stale)} not current: run langneurons leaderboard build")
    if problems:
        raise SubmissionError("\n".join(problems))
    count = len(list((args.leaderboard / "submissions").glob("*/*.json")))
    print(f"{args.leaderboard}: {count} entries, each as submit accepts it; pages current")


def _build(args: argparse.Namespace) -> None:
    from langneurons.report.leaderboard import build

    for path in build(args.leaderboard):
        print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
