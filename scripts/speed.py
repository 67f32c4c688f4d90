"""Measure what hooks cost: tokens/s of plain forward passes against hooked ones.

Compares, on the same windows of UDHR text and in one process:

- the model's full forward (with logits) plain, and with a language's neurons
  ablated (the ablation task's inner loop);
- the base model's forward (no LM head) plain, and with the statistics hooks
  (the statistics pass);
- the latent-language task's inner loop on 32 translation prompts (fr to zh): the
  logit lens at the last layer only (one forward, one row per prompt through the
  head), and at every layer.

Usage: python scripts/speed.py [--model gemma-3-270m] [--tokens 2048] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from langneurons.models.handle import ModelHandle, load_model, resolve_model
from langneurons.models.interventions import ablate
from langneurons.neurons.collection import collect
from langneurons.tasks.answer_tokens import AnswerTokens
from langneurons.tasks.latent_prompts import build_items
from langneurons.tasks.latent_readout import measure
from langneurons.text.concepts import load_concepts
from langneurons.text.corpus import CorpusSpec, paragraphs
from langneurons.text.windows import Window, batches, windows


def best_rates(
    runs: dict[str, Callable[[], None]], tokens: int, repeats: int
) -> list[tuple[str, float]]:
    """Tokens per second of the fastest run of each, taken in interleaved rounds after a warm-up.

    Interleaving spreads any drift of the machine's speed over all variants alike.
    """
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return [(name, tokens / seconds) for name, seconds in best.items()]


def main() -> None:
    """Parse options, time each pass, print tokens/s and overheads."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    handle = load_model(resolve_model(args.model), "auto", "auto")
    text = paragraphs(CorpusSpec("udhr"), "de", "identify") + paragraphs(
        CorpusSpec("udhr"), "de", "evaluate"
    )
    items: list[Window] = list(windows(handle.tokenizer, text, args.window, args.tokens))
    tokens = sum(len(w.ids) for w in items)
    neurons = {layer: list(range(0, 64)) for layer in range(handle.info.num_layers)}

    def forward(module: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for batch in batches(items, args.batch_size):
                    module(
                        input_ids=torch.tensor([w.ids for w in batch], device=handle.model.device)
                    )

        return run

    def ablated() -> None:
        with ablate(handle.model, neurons, handle.architecture):
            forward(handle.model)()

    def statistics() -> None:
        collect(
            handle,
            {"de": text},
            window=args.window,
            batch_size=args.batch_size,
            max_tokens=args.tokens,
            progress=False,
        )

    rows = best_rates(
        {
            "full forward, plain": forward(handle.model),
            "full forward, 64 neurons/layer ablated": ablated,
            "base forward, plain": forward(handle.model.base_model),
            "base forward, statistics hooks": statistics,
        },
        tokens,
        args.repeats,
    )
    print(
        f"{handle.info.name} {handle.info.dtype} on {handle.info.device}, {torch.get_num_threads()} threads, "
        f"{tokens} tokens in windows of {args.window}, batch {args.batch_size}"
    )
    for name, rate in rows:
        print(f"  {name:42s} {rate:8.0f} tokens/s")
    print(f"  ablation hook overhead   {100 * (rows[0][1] / rows[1][1] - 1):+.1f} %")
    print(f"  statistics hook overhead {100 * (rows[2][1] / rows[3][1] - 1):+.1f} %")
    lens_speed(handle, args.repeats)


def lens_speed(handle: ModelHandle, repeats: int) -> None:
    """Print prompts/s of the logit lens at the last layer and at every layer."""
    found = build_items(
        load_concepts(), "translation", "fr", "zh", 4, 0, AnswerTokens(handle.tokenizer)
    )
    items = found.items[:32]
    tokens = sum(len(handle.tokenizer(item.prompt).input_ids) for item in items)
    layers = list(range(handle.info.num_layers))

    def lens(chosen: list[int]) -> Callable[[], None]:
        def run() -> None:
            measure(handle, items, chosen, 16)

        return run

    rows = best_rates(
        {
            "logit lens, last layer": lens(layers[-1:]),
            f"logit lens, all {len(layers)} layers": lens(layers),
        },
        tokens,
        repeats,
    )
    print(f"latent task: {len(items)} translation prompts, {tokens} tokens, batch 16")
    for name, rate in rows:
        print(f"  {name:42s} {rate:8.0f} tokens/s {rate * len(items) / tokens:6.2f} prompts/s")


if __name__ == "__main__":
    main()
