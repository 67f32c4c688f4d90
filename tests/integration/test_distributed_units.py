"""Unit means beyond one process: torchrun's ranks gather them and merged shards concatenate
them, so that Kojima et al.'s AP is the one-process AP (the units come in another order)."""

import pytest
import torch

from langneurons.neurons import statistics
from langneurons.neurons.methods.kojima2024 import average_precision
from langneurons.run.cli import main
from tests.distributed_runs import assert_same_statistics, four_ways
from tests.integration.test_distributed import LANGS, write_corpus


@pytest.fixture(scope="module")
def runs(tiny_model_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("distributed-units")
    corpus = write_corpus(folder / "text")
    identify = ["identify", "--model", str(tiny_model_folder), "--langs", ",".join(LANGS)]
    identify += ["--data", f"text:{corpus}", "--device", "cpu", "--dtype", "float32"]
    four_ways(folder, [*identify, "--batch-size", "2", "--method", "kojima2024"])
    return folder


def sorted_units(stats, half=None):
    """Per language, each neuron's unit means in increasing order (the order-free content)."""
    keep = torch.ones_like(stats.unit_halves, dtype=torch.bool)
    if half is not None:
        keep = stats.unit_halves == half
    return [
        stats.unit_means[keep & (stats.unit_languages == k)].sort(dim=0).values
        for k in range(len(stats.languages))
    ]


def assert_same_units(found, reference):
    assert found.unit_means.shape == reference.unit_means.shape
    for half in (None, 0, 1):
        for a, b in zip(sorted_units(found, half), sorted_units(reference, half), strict=True):
            assert torch.equal(a, b)
    torch.testing.assert_close(
        average_precision(found), average_precision(reference), rtol=0, atol=1e-12
    )


def test_torchrun_ranks_gather_the_one_process_units(runs):
    one = statistics.load(runs / "one.safetensors")
    assert one.unit_means.shape[0] > 0
    ranks = statistics.load(runs / "torchrun.safetensors")
    assert_same_statistics(ranks, one)
    assert_same_units(ranks, one)


def test_merged_shards_hold_the_one_process_units(runs, tmp_path, capsys):
    parts = [str(runs / f"part-{k}.safetensors") for k in (2, 1)]
    out = tmp_path / "merged.safetensors"
    assert main(["merge-stats", *parts, "--out", str(out)]) == 0, capsys.readouterr().err
    one = statistics.load(runs / "one.safetensors")
    merged = statistics.load(out)
    assert_same_statistics(merged, one)
    assert_same_units(merged, one)
