"""scripts/gpu_speed.py runs end to end on a CPU with a tiny config, torchrun ranks included."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_speed.py"


def test_the_gpu_benchmark_runs_its_passes_and_two_ranks_on_a_cpu():
    small = ["--batches", "2", "--batch-size", "2", "--length", "16", "--repeats", "1"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", *small, "--ranks", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tiny model, bfloat16, on CPU; 2 batches of 2 x 16 tokens")
    names = [line.split("  ")[1].strip() for line in lines[1:]]
    assert names == [
        "base forward, plain",
        "base forward, statistics hooks",
        "full forward, plain",
        "full forward, 64 neurons/layer ablated",
        "statistics, 2 ranks (torchrun)",
    ]
    rates = [float(line.split()[-6 if "%" in line else -2]) for line in lines[1:]]
    assert all(rate > 0 for rate in rates)
