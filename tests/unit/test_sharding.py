"""Shares of a statistics pass: parsing ``K/N``, disjoint batches, exact int64 sums, CLI refusals."""

import pytest
import torch

from langneurons.errors import ConfigError
from langneurons.neurons import sharding, statistics
from langneurons.run.cli import main
from tests.synthetic import synthetic_stats

INT32_MAX = 2**31 - 1


def shard_file(folder, index, count, tokens, active, dtype=torch.int64):
    """A shard file of two languages whose counts are all ``active`` out of ``tokens``."""
    stats = synthetic_stats(torch.zeros(2, 3, 4), [0, 0], ["en", "de"])
    counts = {
        "tokens": torch.full((2,), tokens, dtype=dtype),
        "over_zero": torch.full((2, 3, 4), active, dtype=dtype),
    }
    provenance = {**stats.provenance, "window": 512, "batch_size": 4, "seconds": 1.5}
    provenance["shard"] = {"index": index, "count": count}
    path = folder / f"part-{index}.safetensors"
    statistics.save(statistics.with_tensors(stats, counts, provenance), path)
    return path


@pytest.mark.parametrize("text", ["1/2", "3/3", "1/1"])
def test_shares_parse_one_based(text):
    share = sharding.parse_share(text)
    assert str(share) == text and share.record() == {"index": share.index, "count": share.count}


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "1/2/3", ""])
def test_a_bad_share_is_refused(text):
    with pytest.raises(ConfigError, match="expected K/N with 1 <= K <= N"):
        sharding.parse_share(text)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_batch_is_in_exactly_one_share(count):
    shares = [sharding.Share(k, count) for k in range(1, count + 1)]
    for batch in range(50):
        assert sum(share.holds(batch) for share in shares) == 1


def test_merged_counts_pass_2_to_the_31_exactly(tmp_path):
    tokens, active = 2**31 + 7, 2**31 - 3
    parts = [shard_file(tmp_path, k, 2, tokens, active) for k in (1, 2)]
    merged = sharding.merge(parts)
    assert merged.tokens.dtype == merged.over_zero.dtype == torch.int64
    assert merged.tokens.tolist() == [2 * tokens] * 2
    assert set(merged.over_zero.flatten().tolist()) == {2 * active}
    assert "shard" not in merged.provenance and merged.provenance["seconds"] == 3.0


def test_int32_counts_in_files_are_summed_as_int64(tmp_path):
    """A file may hold int32 counts (another tool's); their sum must not wrap around."""
    parts = [shard_file(tmp_path, k, 2, INT32_MAX, INT32_MAX, torch.int32) for k in (1, 2)]
    assert statistics.load(parts[0]).tokens.dtype == torch.int64
    merged = sharding.merge(parts)
    assert merged.tokens.tolist() == [2 * INT32_MAX] * 2
    assert int(merged.over_zero.min()) == 2 * INT32_MAX


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "1/2", "--out", "x.json", "--stats-out", "p.safetensors"], "drop --out"),
        (["--shard", "1/2"], "needs --stats-out"),
        (["--shard", "2/1", "--stats-out", "p.safetensors"], "expected K/N"),
        (["--shard", "1/2", "--stats", "s.safetensors", "--stats-out", "p.safetensors"], "--stats"),
        ([], "needs --out"),
        (["--shard", "1/2", "--param", "alpha=2", "--stats-out", "p.safetensors"], "--param"),
    ],
)
def test_identify_refuses_bad_shard_options_before_any_model(tmp_path, capsys, args, message):
    assert main(["identify", "--method", "diffmean", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_shard_under_torchrun_is_refused(monkeypatch, tmp_path, capsys):
    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "p.safetensors"
    assert main(["identify", "--shard", "1/2", "--stats-out", str(out)]) == 2
    assert "--shard under torchrun" in capsys.readouterr().err
    assert not sharding.leads()


def test_identify_refuses_a_shard_as_whole_statistics(tmp_path, capsys):
    part = shard_file(tmp_path, 1, 2, 10, 3)
    out = tmp_path / "set.json"
    assert main(["identify", "--stats", str(part), "--method", "lape", "--out", str(out)]) == 2
    assert "is shard 1/2 of a pass" in capsys.readouterr().err and not out.exists()
