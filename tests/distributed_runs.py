"""One statistics pass four ways (one process, torchrun with two ranks, shards 1/2 and 2/2).

Every collection runs as its own subprocess with one thread (``OMP_NUM_THREADS=1``)
and its own cache, so the one-process reference computes each batch exactly as a
rank does (the thread count changes float32 reductions) and no run reads another's
cache entry.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from langneurons.neurons import statistics

ROOT = Path(__file__).resolve().parents[1]


def launch(prefix: list[str], args: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python [prefix] -m langneurons args`` with its own cache; fail the test on an error."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LANGNEURONS_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, *prefix, "-m", "langneurons", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def torchrun(ranks: int) -> list[str]:
    """The interpreter arguments of torchrun with ``ranks`` processes on a free local port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = ["-m", "torch.distributed.run", f"--nproc-per-node={ranks}"]
    return [*run, "--master-addr=127.0.0.1", f"--master-port={port}"]


def four_ways(
    folder: Path, identify: list[str], linked: tuple[Path, ...] = ()
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Collect with ``identify`` arguments four ways into ``folder``.

    Writes ``one`` and ``torchrun`` (``.json`` sets, ``.safetensors`` statistics,
    ``cache-<name>/``) and ``part-1``/``part-2.safetensors``; each cache holds
    symbolic links to ``linked`` (prepared models and corpora).
    """

    def cache(name: str) -> Path:
        path = folder / f"cache-{name}"
        path.mkdir()
        for target in linked:
            (path / target.name).symlink_to(target)
        return path

    def whole(name: str, prefix: list[str]) -> subprocess.CompletedProcess[str]:
        out = ["--out", str(folder / f"{name}.json")]
        stats = ["--stats-out", str(folder / f"{name}.safetensors")]
        return launch(prefix, [*identify, *out, *stats], cache(name))

    found = {"one": whole("one", []), "torchrun": whole("torchrun", torchrun(2))}
    for k in (1, 2):
        shard = ["--shard", f"{k}/2", "--stats-out", str(folder / f"part-{k}.safetensors")]
        found[f"part-{k}"] = launch([], [*identify, *shard], cache(f"part-{k}"))
    return found


def assert_same_statistics(found, reference):
    """Counts exactly equal, sums to 1e-9 relative, provenance equal but for the seconds."""
    assert found.languages == reference.languages
    assert set(statistics.tensors(found)) == set(statistics.tensors(reference))
    for name in ("tokens", "over_zero"):
        assert getattr(found, name).dtype == torch.int64, name
        assert torch.equal(getattr(found, name), getattr(reference, name)), name
    for name in ("sums", "sums_sq"):
        a, b = getattr(found, name), getattr(reference, name)
        relative = float(((a - b).abs() / b.abs().clamp(min=1e-300)).max())
        print(f"{name}: max relative difference {relative:.3g}")
        assert relative <= 1e-9, name

    def timeless(provenance):
        return {key: value for key, value in provenance.items() if key != "seconds"}

    assert timeless(found.provenance) == timeless(reference.provenance)
