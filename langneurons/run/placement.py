"""Which GPUs each pytest-xdist worker uses: its own, never a neighbour's unless asked.

With N workers and G GPUs, worker k gets GPUs ``k * G // N`` up to the next
worker's first, so each has ``G // N`` of them (a model too large for one GPU is
spread over its group by a device map) and no GPU is used by two workers. More
workers than GPUs would put two on one GPU: that is refused unless the user asks
for it (``--share-gpus``), and then worker k gets GPU ``k % G``. On CPU the
workers share the cores instead (each takes ``cores // N`` threads).
"""

from __future__ import annotations

from langneurons.errors import ConfigError


def gpu_groups(workers: int, gpus: int, share: bool) -> list[tuple[int, ...]]:
    """The GPU indices of each of ``workers`` workers on a machine with ``gpus`` GPUs.

    Raises:
        ConfigError: more workers than GPUs, and sharing was not asked for.
    """
    if workers < 1 or gpus < 1:
        raise ValueError(f"need at least one worker and one GPU, got {workers} and {gpus}")
    if workers > gpus:
        if not share:
            raise ConfigError(
                f"pytest -n {workers} on {gpus} GPU(s) would put two workers on one GPU; "
                f"use -n {gpus} or fewer, or --share-gpus to allow it"
            )
        return [(k % gpus,) for k in range(workers)]
    size = gpus // workers
    return [tuple(range(k * size, (k + 1) * size)) for k in range(workers)]


def worker_index(worker_id: str) -> int:
    """The index of an xdist worker from its id (``gw3`` -> 3)."""
    digits = worker_id.removeprefix("gw")
    if not digits.isdigit():
        raise ValueError(f"not an xdist worker id: {worker_id!r}")
    return int(digits)


def describe(groups: list[tuple[int, ...]]) -> str:
    """One line: ``gw0 -> cuda:0, gw1 -> cuda:1`` (a group: ``cuda:0+1``)."""
    return ", ".join(
        f"gw{k} -> cuda:{'+'.join(str(i) for i in group)}" for k, group in enumerate(groups)
    )


def worker_gpus(workers: int, device: str, share: bool) -> list[tuple[int, ...]] | None:
    """Each worker's GPUs when ``workers`` workers run on CUDA; None on CPU (cores are shared).

    Raises:
        ConfigError: as :func:`gpu_groups`.
    """
    if device == "cpu":
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    return gpu_groups(workers, torch.cuda.device_count(), share)
