"""Tokens/s of the statistics pass and of ablation on a Mistral-7B-shaped model, on GPUs.

A randomly initialised model of Mistral-7B's shape (32 layers x 14336 neurons,
hidden 4096, vocabulary 32000) in bfloat16 runs batches of 8 x 2048 random
tokens; no weights or tokenizer are needed. In one process it prints, as tokens/s
and as a ratio to the plain forward of the same module:

- the base model's forward (no LM head) plain, and with the statistics hooks
  (``collection.accumulate``, the inner loop of ``langneurons identify``);
- the full forward plain, and with 64 neurons per layer ablated (``ablate``).

With ``--ranks N`` (default: 2 when two GPUs are present) it then runs the
statistics pass under torchrun, one rank per GPU, each on its share of the
batches and all-reduced at the end (``sharding.all_reduce``), and prints the
total tokens/s. ``--tiny`` swaps in a tiny config so the script runs on a CPU
(the tests run it that way); the numbers then mean nothing.

Usage: python scripts/gpu_speed.py [--batches 6] [--repeats 3] [--ranks 2] [--tiny]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import MistralConfig, MistralForCausalLM

from langneurons.models.architecture import architecture_named, neuron_sites
from langneurons.models.interventions import ablate
from langneurons.neurons import sharding
from langneurons.neurons.collection import Accumulators, accumulate
from langneurons.neurons.statistics import ActivationStats
from langneurons.text.windows import Window

TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 1000,
}


def build(tiny: bool, device: torch.device) -> MistralForCausalLM:
    """A randomly initialised Mistral-7B-shaped model (or a tiny one), bf16 on ``device``."""
    torch.manual_seed(0)
    config = MistralConfig(**(TINY if tiny else {}), torch_dtype=torch.bfloat16)
    with torch.device(device):
        model = MistralForCausalLM(config).to(torch.bfloat16)
    return model.train(False)


def random_batches(count: int, batch: int, length: int, vocab: int) -> list[list[Window]]:
    """``count`` batches of ``batch`` windows of ``length`` random token ids (no BOS prefix)."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, vocab, (count, batch, length), generator=generator)
    return [[Window(tuple(row.tolist()), 0) for row in chunk] for chunk in ids]


def best_seconds(run: Callable[[], None], repeats: int, device: torch.device) -> float:
    """The fastest of ``repeats`` timed runs after one warm-up, synchronised on CUDA."""

    def timed() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - started

    timed()
    return min(timed() for _ in range(repeats))


def statistics_pass(
    model: MistralForCausalLM, batches: list[list[Window]]
) -> Callable[[], Accumulators]:
    """The statistics pass over ``batches`` as ``langneurons identify`` runs it."""
    architecture = architecture_named("MistralForCausalLM")
    sites = neuron_sites(model, architecture)
    width = model.config.intermediate_size

    def run() -> Accumulators:
        acc = Accumulators(len(sites), width, histograms=False)
        accumulate(acc, model.base_model, sites, enumerate(batches))
        return acc

    return run


def one_process(args: argparse.Namespace, device: torch.device) -> None:
    """Print plain, statistics and ablation tokens/s in this process."""
    model = build(args.tiny, device)
    batches = random_batches(args.batches, args.batch_size, args.length, model.config.vocab_size)
    tokens = args.batches * args.batch_size * args.length
    neurons = {layer: list(range(64)) for layer in range(model.config.num_hidden_layers)}
    architecture = architecture_named("MistralForCausalLM")

    def forward(module: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for batch in batches:
                    ids = torch.tensor([w.ids for w in batch], device=device)
                    module(input_ids=ids, use_cache=False)

        return run

    def ablated() -> None:
        with ablate(model, neurons, architecture):
            forward(model)()

    collect = statistics_pass(model, batches)

    def statistics() -> None:
        collect()

    rates = {
        name: tokens / best_seconds(run, args.repeats, device)
        for name, run in {
            "base forward, plain": forward(model.base_model),
            "base forward, statistics hooks": statistics,
            "full forward, plain": forward(model),
            "full forward, 64 neurons/layer ablated": ablated,
        }.items()
    }
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    shape = "tiny" if args.tiny else "Mistral-7B-shaped"
    print(
        f"{shape} model, bfloat16, on {where}; {args.batches} batches of "
        f"{args.batch_size} x {args.length} tokens"
    )
    plain = {"base": rates["base forward, plain"], "full": rates["full forward, plain"]}
    for name, rate in rates.items():
        print(f"  {name:40s} {rate:9.0f} tokens/s {100 * rate / plain[name[:4]]:6.1f} % of plain")


def ranked(args: argparse.Namespace) -> None:
    """One torchrun rank: its share of the statistics pass, all-reduced; rank 0 prints."""
    on_cuda = sharding.rank_device("cpu" if args.tiny else "cuda") == "cuda"  # sets the GPU
    device = torch.device("cuda", torch.cuda.current_device()) if on_cuda else torch.device("cpu")
    model = build(args.tiny, device)
    share = sharding.rank_share(device)
    assert share is not None, "run under torchrun"
    batches = random_batches(args.batches, args.batch_size, args.length, model.config.vocab_size)
    mine = [batch for b, batch in enumerate(batches) if share.holds(b)]
    collect = statistics_pass(model, mine)
    tokens = args.batches * args.batch_size * args.length

    def run() -> None:
        acc = collect()
        totals = {name: acc.stacked(name, 0) + acc.stacked(name, 1) for name in acc.TOTALS}
        stats = ActivationStats(
            ("xx",),
            torch.tensor([sum(acc.tokens)]),
            totals["over_zero"][None],
            totals["sums"][None],
            totals["sums_sq"][None],
            {"seconds": 0.0},
        )
        sharding.all_reduce(stats)

    seconds = best_seconds(run, args.repeats, device)
    if sharding.leads():
        print(
            f"  {f'statistics, {share.count} ranks (torchrun)':40s} {tokens / seconds:9.0f} tokens/s"
        )


def main() -> None:
    """Parse options; run in this process, then under torchrun when there are ranks to use."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--length", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ranks", type=int, default=None, help="default: 2 with two GPUs")
    parser.add_argument("--tiny", action="store_true", help="a tiny config, for a CPU")
    parser.add_argument("--rank-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_run:
        ranked(args)
        return
    cuda = torch.cuda.is_available() and not args.tiny
    if not cuda and not args.tiny:
        raise SystemExit("no CUDA device: this script measures GPUs (--tiny runs it on a CPU)")
    one_process(args, torch.device("cuda", 0) if cuda else torch.device("cpu"))
    ranks = args.ranks if args.ranks is not None else (2 if torch.cuda.device_count() >= 2 else 0)
    if ranks > 1:
        sizes = ["--batches", str(args.batches), "--batch-size", str(args.batch_size)]
        sizes += ["--length", str(args.length), "--repeats", str(args.repeats)]
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        script = [str(Path(__file__).resolve()), *sizes, *(["--tiny"] if args.tiny else [])]
        subprocess.run(
            [*launcher, "--nproc-per-node", str(ranks), *script, "--rank-run"], check=True
        )


if __name__ == "__main__":
    main()
