"""Shares of a statistics pass (one per torchrun rank, or per ``--shard K/N``) and their exact sum.

A share is a set of batches, never of single windows: batch ``b``, counted over
the languages in order as the one-process pass forms them, belongs to share
``b % N + 1``. Every batch is then the same tensor as in the one-process run, so
its float32 sums are bitwise the same, and the shares add up to the one-process
statistics up to the order of the float64 additions (about 1e-16 relative);
counts and token totals are equal exactly. Which batches a share holds depends
on the batch size, so a shard file records it and :func:`merge` compares it.

Under torchrun the ranks' accumulators are all-reduced (:func:`all_reduce`);
shard files written by ``identify --shard`` are summed by :func:`merge`, after
checking that they are the N shards of one pass.
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langneurons.errors import ConfigError, FormatError
from langneurons.neurons import statistics
from langneurons.paths import torchrun_launch

if TYPE_CHECKING:
    import torch

    from langneurons.models.handle import Device
    from langneurons.neurons.statistics import ActivationStats

#: provenance keys that differ between the shards of one pass (everything else must agree)
_PER_SHARD = ("shard", "seconds")


@dataclass(frozen=True)
class Share:
    """Share ``index`` (1-based, as ``--shard K/N`` and the file write it) of ``count``."""

    index: int
    count: int

    def holds(self, batch: int) -> bool:
        """Whether batch number ``batch`` (0-based, over all languages) is in this share."""
        return batch % self.count == self.index - 1

    def record(self) -> dict[str, int]:
        """The ``shard`` entry of a shard file's provenance."""
        return {"index": self.index, "count": self.count}

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


#: the whole pass: one process
WHOLE = Share(1, 1)


def parse_share(text: str) -> Share:
    """Parse ``--shard K/N``.

    Raises:
        ConfigError: not two integers with 1 <= K <= N.
    """
    index, slash, count = text.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise ConfigError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. --shard 1/4")
    return Share(int(index), int(count))


def launched() -> bool:
    """Whether torchrun started this process as one of several ranks."""
    launch = torchrun_launch()
    return launch is not None and launch.world_size > 1


def leads() -> bool:
    """Whether this process writes files and prints: rank 0, or the only process."""
    launch = torchrun_launch()
    return launch is None or launch.rank == 0


def rank_device(device: Device) -> Device:
    """The device this process loads the model on: under torchrun with CUDA, GPU LOCAL_RANK alone.

    ``auto`` would spread one model over every GPU with a device map; a rank
    holds its own copy on its local GPU instead, made the current device (NCCL
    and ``cuda`` resolve to it).
    """
    launch = torchrun_launch()
    if launch is None or launch.world_size == 1 or device == "cpu":
        return device
    import torch

    if not torch.cuda.is_available():
        return device
    torch.cuda.set_device(launch.local_rank)
    return "cuda"


def rank_share(device: torch.device) -> Share | None:
    """This rank's share under torchrun (joining the process group once), None for one process.

    The backend follows ``device``, where the model runs: NCCL for CUDA, gloo otherwise.
    """
    launch = torchrun_launch()
    if launch is None or launch.world_size == 1:
        return None
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(dist.destroy_process_group)
    return Share(launch.rank + 1, launch.world_size)


def all_agree(flag: bool) -> bool:
    """Whether ``flag`` holds on every rank (ranks must take the same branch around a collective)."""
    import torch
    import torch.distributed as dist

    found = torch.tensor([int(flag)], dtype=torch.int64, device=_collective_device())
    dist.all_reduce(found, op=dist.ReduceOp.MIN)
    return bool(found.item())


def all_reduce(stats: ActivationStats) -> ActivationStats:
    """Sum every rank's share into the statistics of the whole pass, on every rank.

    Counts travel as int64 and sums as float64 (the accumulators' own dtypes);
    unit means are gathered, rank after rank (Kojima et al.'s AP does not depend on
    their order); the collection seconds are summed over the ranks.
    """
    import torch
    import torch.distributed as dist

    device = _collective_device()
    summed = {}
    for name, tensor in statistics.tensors(stats).items():
        if name in statistics.UNIT_TENSORS:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, tensor)
            summed[name] = torch.cat(gathered)
            continue
        moved = tensor.to(device, copy=True)
        dist.all_reduce(moved)
        summed[name] = moved.cpu()
    seconds = torch.tensor([stats.provenance["seconds"]], dtype=torch.float64, device=device)
    dist.all_reduce(seconds)
    return statistics.with_tensors(stats, summed, _whole(stats.provenance, float(seconds.item())))


def merge(paths: Sequence[Path]) -> ActivationStats:
    """Sum the shard files at ``paths`` into the statistics a one-process run writes.

    Unit means are concatenated, shard after shard: the same units as one
    process's, in another order (nothing read from them depends on it).

    Every file is read and checked before anything is summed: each must be a
    shard (``provenance.shard``) of the same pass as the first (provenance other
    than the shard and its seconds, languages, tensors and their shapes), and
    together they must be shards 1..N, each once.

    Raises:
        FormatError: a file is not statistics, or not a shard.
        ConfigError: shards of different passes or counts, a shard twice or missing.
    """
    import torch

    loaded = [(Path(path), statistics.load(path)) for path in paths]
    shares = [(path, _share_of(stats, path)) for path, stats in loaded]
    first_path, first = loaded[0]
    count = shares[0][1].count
    expected = _comparable(first)
    seen: dict[int, Path] = {}
    for (path, stats), (_, share) in zip(loaded, shares, strict=True):
        if share.count != count:
            raise ConfigError(
                f"{path} is shard {share} but {first_path} is shard {shares[0][1]}: merge the "
                "shards of one split (the same N)"
            )
        found = _comparable(stats)
        for key in dict.fromkeys([*expected, *found]):
            if found.get(key) != expected.get(key):
                raise ConfigError(
                    f"{path}: {key} {found.get(key)!r} differs from {expected.get(key)!r} in "
                    f"{first_path}; merge shards of one pass (same model, dtype, corpus, window, "
                    "batch size and languages)"
                )
        if share.index in seen:
            raise ConfigError(
                f"{path} and {seen[share.index]} are both shard {share}; give each shard once"
            )
        seen[share.index] = path
    missing = [str(k) for k in range(1, count + 1) if k not in seen]
    if missing:
        raise ConfigError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} of {count} missing "
            f"(given {', '.join(str(path) for path, _ in loaded)}); collect "
            f"{'them' if len(missing) > 1 else 'it'} with identify --shard K/{count} and merge all"
        )
    summed = dict(statistics.tensors(first))
    for _, stats in loaded[1:]:
        for name, tensor in statistics.tensors(stats).items():
            joined = name in statistics.UNIT_TENSORS  # one row per unit: concatenated
            summed[name] = torch.cat([summed[name], tensor]) if joined else summed[name] + tensor
    seconds = sum(float(stats.provenance.get("seconds", 0.0)) for _, stats in loaded)
    return statistics.with_tensors(first, summed, _whole(first.provenance, seconds))


def check_whole(stats: ActivationStats, where: str) -> None:
    """Raise if ``stats`` are one shard of a pass: a part of the corpus would identify another set.

    Raises:
        ConfigError: naming the shard and what to do.
    """
    if "shard" in stats.provenance:
        raise ConfigError(
            f"{where} is shard {_share_of(stats, where)} of a pass, not all of it; merge the "
            "shards with langneurons merge-stats and give the merged file"
        )


def _share_of(stats: ActivationStats, path: Path | str) -> Share:
    record = stats.provenance.get("shard")
    if record is None:
        raise FormatError(
            f"{path} is not a shard (its provenance has no 'shard'); merge files written by "
            "langneurons identify --shard K/N"
        )
    fields = record if isinstance(record, dict) else {}
    index, count = fields.get("index"), fields.get("count")
    if not (type(index) is int and type(count) is int and 1 <= index <= count):  # no bool, float
        raise FormatError(
            f"{path}: provenance 'shard' is {record!r}; expected {{'index': K, 'count': N}} with "
            "1 <= K <= N; write the shard again with identify --shard K/N"
        )
    return Share(index, count)


def _comparable(stats: ActivationStats) -> dict[str, Any]:
    """What the shards of one pass share, flattened one level for the error message."""
    found: dict[str, Any] = {}
    for key, value in stats.provenance.items():
        if key in _PER_SHARD:
            continue
        if isinstance(value, Mapping):
            found.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            found[key] = value
    found["languages"] = list(stats.languages)
    found["tensors"] = {
        # the number of units is a share's own
        name: list(t.shape[1:] if name in statistics.UNIT_TENSORS else t.shape)
        for name, t in statistics.tensors(stats).items()
    }
    return found


def _whole(provenance: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """A share's provenance as the whole pass's: no shard, the seconds of all shares."""
    whole = {key: value for key, value in provenance.items() if key != "shard"}
    whole["seconds"] = round(seconds, 2)
    return whole


def _collective_device() -> torch.device:
    """Where collectives run: the current GPU for NCCL, the CPU for gloo."""
    import torch
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
