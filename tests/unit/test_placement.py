"""Placement of pytest-xdist workers on GPUs: each its own, never shared unless asked."""

import pytest

from langneurons.errors import ConfigError
from langneurons.run.placement import describe, gpu_groups, worker_index


@pytest.mark.parametrize(
    ("workers", "gpus", "groups"),
    [
        (1, 1, [(0,)]),
        (2, 2, [(0,), (1,)]),
        (2, 4, [(0, 1), (2, 3)]),
        (3, 8, [(0, 1), (2, 3), (4, 5)]),
        (1, 8, [tuple(range(8))]),
    ],
)
def test_workers_get_disjoint_groups_of_equal_size(workers, gpus, groups):
    found = gpu_groups(workers, gpus, share=False)
    assert found == groups
    used = [i for group in found for i in group]
    assert len(used) == len(set(used))


def test_more_workers_than_gpus_share_only_when_asked():
    with pytest.raises(ConfigError, match="pytest -n 3 on 2 GPU.*--share-gpus"):
        gpu_groups(3, 2, share=False)
    assert gpu_groups(3, 2, share=True) == [(0,), (1,), (0,)]


def test_worker_ids_and_the_printed_line():
    assert worker_index("gw11") == 11
    with pytest.raises(ValueError, match="not an xdist worker id"):
        worker_index("master")
    assert describe([(0, 1), (2,)]) == "gw0 -> cuda:0+1, gw1 -> cuda:2"
