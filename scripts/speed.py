"""Tokens/s of every task kind's inner loop beside the plain forward of the same model.

One process, one model, dtype and batch; each section times a plain forward of
the same inputs and the task's inner loop in interleaved rounds (best of
``--repeats`` after a warm-up), and prints each loop's share of the plain rate:

- ``statistics``: the base model (no LM head) plain, and ``collection.accumulate``
  with the statistics hooks (the inner loop of ``langneurons identify``);
- ``ablation``: the full forward plain, and ``perplexity.nll`` with 64 neurons
  per layer zeroed from the first text position (the ablation task's loop);
- ``steering``: greedy ``generate`` plain, and ``generation.generate`` with 32
  neurons per layer set and 32 zeroed; then the full forward over what was
  generated, and ``continuation_nll`` on it;
- ``lens``: the forward that keeps one position of logits, and
  ``latent_readout.measure`` at the last layer and at every layer. All layers
  are held to a FLOP bound: the plain rate times (forward + one decode per
  prompt) / (forward + one decode per prompt and layer), forwards costing twice
  the parameters outside the embeddings per token, decodes twice hidden x vocabulary;
- ``lm-eval``: the full forward over the batches lm-eval forms (recorded from
  one call), and ``InterventionLM.loglikelihood`` on the same requests with 64
  neurons per layer zeroed, whose head runs on the positions it reads (the
  heading counts them); it also times building lm-eval's task index with and
  without the built-in tasks.

Usage: python scripts/speed.py [--model gemma-3-270m] [--only SECTION] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch

from langneurons.models.handle import ModelHandle, load_model, resolve_model
from langneurons.models.hooks import attached
from langneurons.models.interventions import ablate, steer
from langneurons.neurons.collection import Accumulators, accumulate
from langneurons.tasks.answer_tokens import AnswerTokens
from langneurons.tasks.generation import Generation, continuation_nll, generate
from langneurons.tasks.latent_prompts import build_items
from langneurons.tasks.latent_readout import measure
from langneurons.tasks.perplexity import nll
from langneurons.text.concepts import load_concepts
from langneurons.text.corpus import CorpusSpec, paragraphs
from langneurons.text.windows import Window, batches, windows

SECTIONS = ("statistics", "ablation", "steering", "lens", "lm-eval")
#: a run times one pass and returns the tokens it processed
Run = Callable[[], int]


def rates(runs: dict[str, Run], repeats: int) -> dict[str, float]:
    """Tokens/s of the fastest run of each, taken in interleaved rounds after a warm-up.

    Interleaving spreads any drift of the machine's speed over all variants alike.
    """
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    tokens = dict.fromkeys(runs, 0)
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            tokens[name] = run()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: tokens[name] / seconds for name, seconds in best.items()}


def report(
    title: str, found: dict[str, float], plain: str, bounds: dict[str, float] | None = None
) -> None:
    """Print each rate and its share of the plain one, times its FLOP ratio where ``bounds`` has one."""
    print(title)
    for name, rate in found.items():
        share = rate * (bounds or {}).get(name, 1.0) / found[plain]
        print(f"  {name:44s} {rate:8.0f} tokens/s {100 * share:6.1f} %")


def layer_neurons(handle: ModelHandle, count: int, first: int = 0) -> dict[int, list[int]]:
    """``count`` neurons per layer from index ``first``: a set as large as LAPE's largest."""
    return {layer: list(range(first, first + count)) for layer in range(handle.info.num_layers)}


def forward_run(module: torch.nn.Module, inputs: Sequence[dict[str, torch.Tensor]]) -> Run:
    """A run of ``module`` over prepared batches; counts the unpadded tokens."""

    def run() -> int:
        with torch.inference_mode():
            for batch in inputs:
                module(**batch, use_cache=False)
        return sum(_real_tokens(batch) for batch in inputs)

    return run


def _real_tokens(batch: dict[str, torch.Tensor]) -> int:
    mask = batch.get("attention_mask")
    return int(mask.sum()) if mask is not None else batch["input_ids"].numel()


def text_windows(handle: ModelHandle, window: int, tokens: int) -> list[Window]:
    """``tokens`` text tokens of German UDHR text in windows of ``window``."""
    text = [
        *paragraphs(CorpusSpec("udhr"), "de", "identify"),
        *paragraphs(CorpusSpec("udhr"), "de", "evaluate"),
    ]
    return windows(handle.tokenizer, text, window, tokens)


def window_inputs(
    handle: ModelHandle, items: list[Window], batch_size: int
) -> list[dict[str, torch.Tensor]]:
    """The forward inputs of ``items`` in the batches the tasks form."""
    device = handle.model.device
    return [
        {"input_ids": torch.tensor([w.ids for w in batch], device=device)}
        for batch in batches(items, batch_size)
    ]


def statistics(handle: ModelHandle, args: argparse.Namespace) -> None:
    """The statistics pass against the base model's plain forward."""
    items = text_windows(handle, args.window, args.tokens)
    inputs = window_inputs(handle, items, args.batch_size)
    base = handle.model.base_model
    layers, width = handle.info.num_layers, handle.info.neurons_per_layer

    def hooked() -> int:
        acc = Accumulators(layers, width, histograms=False)
        accumulate(acc, base, handle.sites(), enumerate(batches(items, args.batch_size)))
        return sum(len(w.ids) for w in items)

    found = rates(
        {"base forward, plain": forward_run(base, inputs), "statistics pass": hooked}, args.repeats
    )
    report(
        f"statistics: {len(items)} windows of {args.window}, batch {args.batch_size}",
        found,
        "base forward, plain",
    )


def ablation(handle: ModelHandle, args: argparse.Namespace) -> None:
    """Perplexity under ablation against the full forward."""
    items = text_windows(handle, args.window, args.tokens)
    inputs = window_inputs(handle, items, args.batch_size)
    neurons = layer_neurons(handle, 64)

    def ablated() -> int:
        with ablate(handle.model, neurons, handle.architecture, start=items[0].prefix):
            nll(handle, items, args.batch_size)
        return sum(len(w.ids) for w in items)

    found = rates(
        {
            "full forward, plain": forward_run(handle.model, inputs),
            "nll, 64 neurons/layer ablated": ablated,
        },
        args.repeats,
    )
    report(
        f"ablation perplexity: {len(items)} windows of {args.window}, batch {args.batch_size}",
        found,
        "full forward, plain",
    )


def steering(handle: ModelHandle, args: argparse.Namespace) -> None:
    """Steered generation against plain greedy generation, and the perplexity that follows."""
    prompts = paragraphs(CorpusSpec("prompts"), "en", "evaluate")[: args.prompts]
    activate = layer_neurons(handle, 32)
    values = {layer: [1.0] * len(chosen) for layer, chosen in activate.items()}
    deactivate = layer_neurons(handle, 32, first=32)
    pad = handle.tokenizer.pad_token_id
    encoded = [
        handle.tokenizer(
            list(prompts[i : i + args.prompts]),
            return_tensors="pt",
            padding=True,
            padding_side="left",
        ).to(handle.model.device)
        for i in range(0, len(prompts), args.prompts)
    ]
    kept: list[Generation] = []

    def plain() -> int:
        steps = 0
        with torch.inference_mode():
            for enc in encoded:
                out = handle.model.generate(  # type: ignore[operator]
                    **enc, max_new_tokens=args.new_tokens, do_sample=False, pad_token_id=pad
                )
                steps += out.shape[0] * (out.shape[1] - enc.input_ids.shape[1])
        return steps

    def steered() -> int:
        generation = generate(
            handle,
            prompts,
            args.new_tokens,
            args.prompts,
            lambda length: steer(handle.model, activate, values, deactivate, handle.architecture),
        )
        kept[:] = [generation]
        return sum(ids.shape[0] * (ids.shape[1] - length) for ids, _, length in generation.batches)

    found = rates({"generate, plain": plain, "generate, steered": steered}, args.repeats)
    report(
        f"steering generation: {len(prompts)} prompts, {args.new_tokens} new tokens, batch {args.prompts}",
        found,
        "generate, plain",
    )
    generation = kept[0]
    inputs = []
    for ids, mask, _ in generation.batches:
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        inputs.append(
            {
                "input_ids": ids.to(handle.model.device),
                "attention_mask": mask.to(handle.model.device),
                "position_ids": positions.to(handle.model.device),
            }
        )

    def scored() -> int:
        continuation_nll(handle, generation)
        return sum(_real_tokens(batch) for batch in inputs)

    found = rates(
        {
            "full forward, plain": forward_run(handle.model, inputs),
            "continuation_nll": scored,
        },
        args.repeats,
    )
    report("steering perplexity: the steered continuations", found, "full forward, plain")


def lens(handle: ModelHandle, args: argparse.Namespace) -> None:
    """The logit lens at the last layer and at all layers against the forward it rides on."""
    found_items = build_items(
        load_concepts(), "translation", "fr", "zh", 4, 0, AnswerTokens(handle.tokenizer)
    )
    items = found_items.items[: args.prompts_lens]
    batch = 16
    prompts = [item.prompt for item in items]
    inputs = [
        dict(
            handle.tokenizer(
                prompts[i : i + batch], return_tensors="pt", padding=True, padding_side="left"
            ).to(handle.model.device)
        )
        for i in range(0, len(prompts), batch)
    ]
    tokens = sum(_real_tokens(b) for b in inputs)
    layers = list(range(handle.info.num_layers))

    def kept_one() -> int:
        with torch.inference_mode():
            for b in inputs:
                handle.model(**b, use_cache=False, logits_to_keep=1)
        return tokens

    def lensed(chosen: list[int]) -> Run:
        def run() -> int:
            measure(handle, items, chosen, batch)
            return tokens

        return run

    forward_flops = 2 * _body_parameters(handle.model) * tokens
    decode_flops = 2 * handle.model.config.hidden_size * handle.model.config.vocab_size * len(items)
    bound = (forward_flops + len(layers) * decode_flops) / (forward_flops + decode_flops)
    every = f"logit lens, all {len(layers)} layers"
    found = rates(
        {
            "forward, one position of logits": kept_one,
            "logit lens, last layer": lensed(layers[-1:]),
            every: lensed(layers),
        },
        args.repeats,
    )
    report(
        f"logit lens: {len(items)} fr>zh prompts, {tokens} tokens, batch {batch}; all layers "
        f"against the FLOP bound, the plain rate / {bound:.2f}",
        found,
        "forward, one position of logits",
        {every: bound},
    )


def _body_parameters(model: torch.nn.Module) -> int:
    """Parameters outside the embedding and unembedding: a token's forward costs twice these."""
    skip = {id(m.weight) for m in (model.get_input_embeddings(), model.get_output_embeddings())}  # type: ignore[operator]
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def lm_eval_section(handle: ModelHandle, args: argparse.Namespace) -> None:
    """lm-eval's loglikelihood under ablation against the full forward of its batches."""
    from lm_eval.api.instance import Instance
    from lm_eval.tasks import TaskManager

    from langneurons.paths import cache_dir
    from langneurons.tasks.lm_eval_model import InterventionLM
    from langneurons.tasks.lm_eval_tasks import items, write_tasks

    lm = InterventionLM(pretrained=handle.model, tokenizer=handle.tokenizer, batch_size=16)
    requests = [
        Instance("loglikelihood", doc, (doc["question"], f" {choice}"), j)
        for doc in items("en")[: args.lm_eval_items]
        for j, choice in enumerate(cast(list[str], doc["choices"]))
    ]
    neurons = layer_neurons(handle, 64)
    tokens = sum(len(_whole(lm, *r.args)) - 1 for r in requests)
    calls: list[torch.Tensor] = []  # the batches lm-eval runs, recorded once
    kept: list[int] = []  # the positions of logits each of them returned

    def record(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        calls.append(args[0] if args else kwargs["input_ids"])

    def count(module: torch.nn.Module, args: Any, output: Any) -> None:
        kept.append(output.logits.shape[1])

    with attached([(handle.model, count)], [(handle.model, record)]):
        lm.loglikelihood(requests, disable_tqdm=True)

    def plain() -> int:
        with torch.inference_mode():
            for ids in calls:
                handle.model(input_ids=ids, use_cache=False)
        return tokens

    def ablated() -> int:
        with lm.intervening(zero=neurons):
            lm.loglikelihood(requests, disable_tqdm=True)
        return tokens

    found = rates(
        {"full forward, plain": plain, "loglikelihood, 64 neurons/layer ablated": ablated},
        args.repeats,
    )
    report(
        f"lm-eval: {len(requests)} requests of the concepts set (en) in {len(calls)} "
        f"forwards, batch 16, the head on {sum(kept)} of {sum(c.shape[1] for c in calls)} "
        "positions",
        found,
        "full forward, plain",
    )
    folder = cache_dir() / "lm_eval_tasks"
    write_tasks(folder, ["en"])
    for defaults in (True, False):
        started = time.perf_counter()
        TaskManager(include_path=[str(folder)], include_defaults=defaults)
        what = "with" if defaults else "without"
        print(
            f"  task index {what} lm-eval's built-in tasks: {time.perf_counter() - started:.2f} s"
        )


def _whole(lm: Any, context: str, continuation: str) -> list[int]:
    """Context and continuation ids as lm-eval encodes a request."""
    context_ids, continuation_ids = lm._encode_pair(context, continuation)
    return [*context_ids, *continuation_ids]


def main() -> None:
    """Parse options, run the sections, print tokens/s and shares of the plain forward."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--only", choices=SECTIONS, help="run one section")
    parser.add_argument(
        "--tokens", type=int, default=2048, help="text tokens (statistics, ablation)"
    )
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=4, help="windows per forward")
    parser.add_argument("--prompts", type=int, default=20, help="steering prompts (one batch)")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--prompts-lens", type=int, default=32)
    parser.add_argument("--lm-eval-items", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    handle = load_model(resolve_model(args.model), args.dtype, "auto")
    print(
        f"{handle.info.name} {handle.info.dtype} on {handle.info.device}, "
        f"{torch.get_num_threads()} threads; best of {args.repeats} interleaved rounds; "
        "share: of the plain forward's tokens/s"
    )
    run = {
        "statistics": statistics,
        "ablation": ablation,
        "steering": steering,
        "lens": lens,
        "lm-eval": lm_eval_section,
    }
    for name in SECTIONS:
        if args.only in (None, name):
            run[name](handle, args)


if __name__ == "__main__":
    main()
