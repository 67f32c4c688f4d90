"""Statistics collection: exact counts, constant-size accumulators, cache reuse."""

import torch

from langneurons.models.handle import load_model, resolve_model
from langneurons.neurons import stats_cache as cache
from langneurons.neurons.collection import collect
from langneurons.neurons.statistics import load, save
from langneurons.text.windows import windows
from tests.synthetic import SAMPLE_TEXT


def brute_force(handle, paragraphs, window):
    """Counts from hooks that keep every activation (what collect must equal)."""
    kept = {i: [] for i in range(handle.info.num_layers)}
    hooks = [
        site.register_forward_hook(
            lambda m, i, o, layer=layer: (
                kept[layer].append(o[:, 1:].reshape(-1, o.shape[-1]).clone()) and None
            )
        )
        for layer, site in enumerate(handle.sites())
    ]
    try:
        with torch.no_grad():
            for w in windows(handle.tokenizer, paragraphs, window):
                handle.model(input_ids=torch.tensor([w.ids]))
    finally:
        for h in hooks:
            h.remove()
    acts = [torch.cat(kept[i]).double() for i in range(handle.info.num_layers)]
    return (
        torch.stack([(a > 0).sum(0) for a in acts]),
        torch.stack([a.sum(0) for a in acts]),
        torch.stack([a.square().sum(0) for a in acts]),
        acts[0].shape[0],
    )


def test_streamed_statistics_equal_brute_force(tiny_model_folder):
    handle = load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")
    corpus = {"en": [SAMPLE_TEXT["en"]] * 6, "zh": [SAMPLE_TEXT["zh"]] * 5}
    stats = collect(handle, corpus, window=16, batch_size=3, progress=False)
    for k, lang in enumerate(corpus):
        over_zero, sums, squares, tokens = brute_force(handle, corpus[lang], 16)
        assert stats.tokens[k] == tokens
        assert torch.equal(stats.over_zero[k], over_zero)
        torch.testing.assert_close(stats.sums[k], sums, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(stats.sums_sq[k], squares, rtol=1e-5, atol=1e-5)
    assert stats.over_zero.shape == (2, 2, 24)


def test_statistics_file_round_trip_and_cache_reuse(tiny_model_folder, tmp_path):
    handle = load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")
    calls = []

    def compute():
        calls.append(1)
        return collect(
            handle, {"de": [SAMPLE_TEXT["de"]] * 3}, window=8, progress=False, provenance={"x": 1}
        )

    path = cache.statistics_path("tiny", cache.statistics_key({"model": "tiny"}))
    first, hit1 = cache.cached_statistics(path, compute)
    second, hit2 = cache.cached_statistics(path, compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    assert torch.equal(first.over_zero, second.over_zero) and second.provenance["x"] == 1
    save(first, tmp_path / "s.safetensors")
    assert torch.equal(load(tmp_path / "s.safetensors").sums_sq, first.sums_sq)


def test_histograms_count_every_token_and_give_percentiles_to_the_bin_width(tiny_model_folder):
    handle = load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")
    corpus = {"en": [SAMPLE_TEXT["en"]] * 6}
    stats = collect(handle, corpus, window=16, batch_size=3, progress=False, histograms=True)
    assert torch.equal(stats.histograms.sum(-1), stats.tokens[:, None, None].expand(1, 2, 24))
    # bins above 0 add up to over_zero
    assert torch.equal(stats.histograms[..., 1:].sum(-1), stats.over_zero)
    kept = []
    site = handle.sites()[0]
    hook = site.register_forward_hook(
        lambda m, i, o: kept.append(o[:, 1:].reshape(-1, o.shape[-1]).clone()) and None
    )
    try:
        with torch.no_grad():
            for w in windows(handle.tokenizer, corpus["en"], 16):
                handle.model(input_ids=torch.tensor([w.ids]))
    finally:
        hook.remove()
    acts = torch.cat(kept).double()
    exact = torch.quantile(acts, 0.9, dim=0)
    estimate = stats.quantile(90, "en")[0]
    positive = exact > 1e-3
    assert positive.any()
    ratio = estimate[positive] / exact[positive]
    assert ((ratio > 1 / 1.34) & (ratio < 1.34)).all(), ratio


def test_the_halves_take_alternate_windows_and_sum_to_the_whole(tiny_model_folder, tmp_path):
    """With one window per batch, half 0 is exactly what share 1/2 collects alone."""
    from langneurons.neurons.sharding import Share

    handle = load_model(resolve_model(str(tiny_model_folder)), "float32", "cpu")
    corpus = {"en": [SAMPLE_TEXT["en"]] * 6, "zh": [SAMPLE_TEXT["zh"]] * 5}
    stats = collect(handle, corpus, window=8, batch_size=1, progress=False)
    alone = collect(handle, corpus, window=8, batch_size=1, progress=False, share=Share(1, 2))
    assert torch.equal(stats.half_tokens, alone.tokens)
    assert torch.equal(stats.half_over_zero, alone.over_zero)
    assert torch.equal(stats.half_sums, alone.sums) and torch.equal(
        stats.half_sums_sq, alone.sums_sq
    )
    batched = collect(handle, corpus, window=8, batch_size=4, progress=False)
    assert torch.equal(batched.over_zero, stats.over_zero)  # the halves add up to the whole
    first, second = batched.halves()
    assert torch.equal(first.tokens + second.tokens, batched.tokens)
    assert bool(((first.tokens - second.tokens).abs() <= 8).all())  # within one window
    save(batched, tmp_path / "s.safetensors")
    assert torch.equal(load(tmp_path / "s.safetensors").half_over_zero, batched.half_over_zero)
