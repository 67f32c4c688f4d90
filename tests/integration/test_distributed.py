"""Statistics beyond one process: torchrun's ranks and ``--shard`` + ``merge-stats`` on a tiny model.

The runs are in :mod:`tests.distributed_runs`: each its own subprocess with one
thread and its own cache.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

from langneurons.neurons import sharding, statistics
from langneurons.neurons.identification import identify
from langneurons.run.cli import main
from tests.distributed_runs import assert_same_statistics, four_ways
from tests.synthetic import SAMPLE_TEXT, synthetic_stats

LANGS = ("en", "de", "zh")
#: LAPE's default keeps 1 % of neurons, none of the tiny model's 48: this keeps some
PARAMS = {"top_rate": 0.2}


def write_corpus(folder: Path) -> str:
    """Text for several batches per language (so that each share holds part of each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        paragraphs = [f"{SAMPLE_TEXT[lang]} {i}" for i in range(60)]
        (folder / f"{lang}.identify.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    return str(folder / "{lang}.{split}.txt")


@pytest.fixture(scope="module")
def runs(tiny_model_folder, tmp_path_factory):
    """The four runs' folder and output."""
    folder = tmp_path_factory.mktemp("distributed")
    corpus = write_corpus(folder / "text")
    identify = ["identify", "--model", str(tiny_model_folder), "--langs", ",".join(LANGS)]
    identify += ["--data", f"text:{corpus}", "--device", "cpu", "--dtype", "float32"]
    return folder, four_ways(folder, [*identify, "--batch-size", "2"])


def selected(stats):
    return identify("lape", stats, PARAMS).languages


def test_torchrun_ranks_give_the_one_process_statistics_and_set(runs):
    folder, _ = runs
    one = statistics.load(folder / "one.safetensors")
    ranks = statistics.load(folder / "torchrun.safetensors")
    assert_same_statistics(ranks, one)
    assert any(selected(one)[lang] for lang in LANGS)
    assert selected(ranks) == selected(one)
    assert json.loads((folder / "torchrun.json").read_text()) == json.loads(
        (folder / "one.json").read_text()
    )


def test_torchrun_caches_under_the_one_process_key_and_rank_0_alone_writes(runs):
    folder, found = runs
    written = {
        name: sorted(
            p.relative_to(folder / f"cache-{name}") for p in (folder / f"cache-{name}").rglob("*.*")
        )
        for name in ("one", "torchrun")
    }
    entries = {
        name: [p for p in paths if p.suffix == ".safetensors"] for name, paths in written.items()
    }
    assert len(entries["one"]) == 1 and entries["torchrun"] == entries["one"]
    sets = {name: [p for p in paths if p.suffix == ".json"] for name, paths in written.items()}
    assert len(sets["torchrun"]) == 1  # the set identified on the fly, once
    lines = found["torchrun"].stdout.splitlines()  # rank 1 prints nothing
    assert len(lines) == len(found["one"].stdout.splitlines()) == 2, lines


def test_shards_hold_disjoint_parts_and_record_them(runs):
    folder, _ = runs
    one = statistics.load(folder / "one.safetensors")
    parts = [statistics.load(folder / f"part-{k}.safetensors") for k in (1, 2)]
    assert [p.provenance["shard"] for p in parts] == [
        {"index": 1, "count": 2},
        {"index": 2, "count": 2},
    ]
    for part in parts:  # each holds part of every language, not all of it
        assert bool((part.tokens > 0).all()) and bool((part.tokens < one.tokens).all())
    assert torch.equal(parts[0].tokens + parts[1].tokens, one.tokens)
    assert not list((folder / "cache-part-1").rglob("*.safetensors"))  # a part is never cached


def test_merged_shards_give_the_one_process_statistics_and_set(runs, tmp_path, capsys):
    folder, _ = runs
    merged_path = tmp_path / "merged.safetensors"
    parts = [str(folder / f"part-{k}.safetensors") for k in (2, 1)]  # any order
    assert main(["merge-stats", *parts, "--out", str(merged_path)]) == 0, capsys.readouterr().err
    one = statistics.load(folder / "one.safetensors")
    merged = statistics.load(merged_path)
    assert "shard" not in merged.provenance
    assert_same_statistics(merged, one)
    assert selected(merged) == selected(one)
    out = tmp_path / "set.json"
    code = main(["identify", "--stats", str(merged_path), "--method", "lape", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text()) == json.loads((folder / "one.json").read_text())


def altered(source: Path, target: Path, **provenance) -> Path:
    """A copy of the shard at ``source`` with provenance entries replaced."""
    stats = statistics.load(source)
    changed = {**stats.provenance, **provenance}
    statistics.save(statistics.with_tensors(stats, {}, changed), target)
    return target


def bad_inputs(folder: Path, tmp: Path) -> dict[str, tuple[list[Path], str]]:
    """Each bad merge input: the files given, and what the error must say."""
    one, two = folder / "part-1.safetensors", folder / "part-2.safetensors"
    copy = tmp / "copy-of-part-1.safetensors"
    shutil.copy(one, copy)
    stats = statistics.load(two)
    model = {**stats.provenance["model"], "revision": "local-sha256:other"}
    other_langs = tmp / "other-languages.safetensors"
    statistics.save(
        statistics.ActivationStats(
            ("en", "de", "fr"),
            stats.tokens,
            stats.over_zero,
            stats.sums,
            stats.sums_sq,
            stats.provenance,
        ),
        other_langs,
    )
    histograms = tmp / "histograms.safetensors"
    bins = torch.zeros((*stats.over_zero.shape, statistics.HISTOGRAM_BINS), dtype=torch.int64)
    bins[..., 0] = stats.tokens[:, None, None]
    statistics.save(statistics.with_tensors(stats, {"histograms": bins}), histograms)
    text = tmp / "notes.safetensors"
    text.write_text("not statistics")
    return {
        "missing": ([one], "shard 2 of 2 missing"),
        "duplicate": ([one, two, copy], "are both shard 1/2"),
        "not a shard": ([one, folder / "one.safetensors"], "is not a shard"),
        "not statistics": ([one, text], "not a readable safetensors file"),
        "mixed N": (
            [one, altered(two, tmp / "of-3.safetensors", shard={"index": 2, "count": 3})],
            "is shard 2/3 but",
        ),
        "bad shard entry": (
            [one, altered(two, tmp / "bad.safetensors", shard={"index": 0, "count": 2})],
            "provenance 'shard'",
        ),
        "model": ([one, altered(two, tmp / "model.safetensors", model=model)], "model.revision"),
        "dtype": ([one, altered(two, tmp / "dtype.safetensors", dtype="bfloat16")], "dtype"),
        "site": ([one, altered(two, tmp / "site.safetensors", site="mlp.other")], "site"),
        "corpus": (
            [one, altered(two, tmp / "corpus.safetensors", corpus_sha256="1" * 64)],
            "corpus_sha256",
        ),
        "window": ([one, altered(two, tmp / "window.safetensors", window=256)], "window"),
        "batch size": ([one, altered(two, tmp / "batch.safetensors", batch_size=4)], "batch_size"),
        "languages": ([one, other_langs], "languages"),
        "histograms": ([one, histograms], "tensors"),
    }


CASES = [
    "missing",
    "duplicate",
    "not a shard",
    "not statistics",
    "mixed N",
    "bad shard entry",
    "model",
    "dtype",
    "site",
    "corpus",
    "window",
    "batch size",
    "languages",
    "histograms",
]


@pytest.mark.parametrize("case", CASES)
def test_every_bad_merge_input_is_one_line_naming_the_file_and_writes_nothing(
    runs, tmp_path, capsys, case
):
    folder, _ = runs
    cases = bad_inputs(folder, tmp_path)
    assert set(cases) == set(CASES)
    files, message = cases[case]
    out = tmp_path / "merged.safetensors"
    capsys.readouterr()
    assert main(["merge-stats", *map(str, files), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    named = files[-1] if case != "missing" else files[0]
    assert str(named) in err, err
    assert not out.exists()


def test_all_reduce_carries_counts_past_2_to_the_31():
    import torch.distributed as dist

    stats = synthetic_stats(torch.full((2, 3, 4), 2**31 + 5), [2**33, 2**32], ["en", "de"])
    provenance = {**stats.provenance, "seconds": 2.0, "shard": {"index": 1, "count": 1}}
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        reduced = sharding.all_reduce(statistics.with_tensors(stats, {}, provenance))
    finally:
        dist.destroy_process_group()
    assert reduced.tokens.dtype == reduced.over_zero.dtype == torch.int64
    assert reduced.tokens.tolist() == [2**33, 2**32]
    assert set(reduced.over_zero.flatten().tolist()) == {2**31 + 5}
    assert "shard" not in reduced.provenance and reduced.provenance["seconds"] == 2.0
