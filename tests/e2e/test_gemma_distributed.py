"""gemma-3-270m statistics from torchrun's two ranks and from two merged shards equal one process's.

Three UDHR languages, one window per forward pass (so each share holds part of
every language); the default dtype. Counts must be equal exactly, sums to 1e-9
relative, and the LAPE sets identical.
"""

import json

import pytest

from langneurons.neurons import statistics
from langneurons.run.cli import main
from tests.conftest import REAL_CACHE
from tests.distributed_runs import assert_same_statistics, four_ways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gemma-distributed")
    # UDHR's few tokens: the four ways must agree on any text, and the default help's
    # 30,000 tokens per language would take each of them minutes
    identify = ["identify", "--model", "gemma-3-270m", "--langs", "en,de,zh", "--batch-size", "1"]
    identify += ["--data", "udhr"]
    prepared = tuple(p for p in (REAL_CACHE / "models", REAL_CACHE / "corpora") if p.exists())
    four_ways(folder, identify, prepared)
    return folder


def test_torchrun_equals_one_process(runs):
    one = statistics.load(runs / "one.safetensors")
    assert_same_statistics(statistics.load(runs / "torchrun.safetensors"), one)
    reference = json.loads((runs / "one.json").read_text())
    assert all(reference["languages"][lang] for lang in ("en", "de", "zh"))
    assert json.loads((runs / "torchrun.json").read_text()) == reference


def test_merged_shards_equal_one_process(runs, tmp_path):
    merged = tmp_path / "merged.safetensors"
    parts = [str(runs / f"part-{k}.safetensors") for k in (1, 2)]
    assert main(["merge-stats", *parts, "--out", str(merged)]) == 0
    assert_same_statistics(statistics.load(merged), statistics.load(runs / "one.safetensors"))
    out = tmp_path / "lape.json"
    assert main(["identify", "--stats", str(merged), "--method", "lape", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads((runs / "one.json").read_text())
