"""Smoke test: every benchmark script completes on a tiny synthetic workload.

Needs neither torch (its variant then reports itself skipped) nor the MNIST files.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = "--synthetic --limit 512"
COMMANDS = {
    "run": f"-m bench.run {TINY} --rounds 2 --epochs 2 --idle-wait 0 --retries 0"
    " --variants engine-numpy,engine-numba,numpy-flush,gemm",
    "engine_mlp": f"bench/engine_mlp.py {TINY}",
    "numpy_mlp": f"bench/numpy_mlp.py {TINY}",
    "gemm_floor": f"bench/gemm_floor.py {TINY}",
    "torch_mlp": f"bench/torch_mlp.py {TINY}",
    "run_cnn": f"-m bench.run {TINY} --rounds 1 --idle-wait 0 --retries 0"
    " --variants engine-cnn,engine-cnn-numpy,torch-cnn",
    "engine_cnn": f"bench/engine_cnn.py {TINY}",
    "torch_cnn": f"bench/torch_cnn.py {TINY}",
    "cnn_breakdown": f"bench/cnn_breakdown.py {TINY} --steps 3",
    "paired_steps": f"bench/paired_steps.py {TINY} --other . --modules nn.conv --pairs 1 --block 1",
    "run_train_cnn": f"-m bench.run {TINY} --rounds 1 --idle-wait 0 --retries 0"
    " --variants engine-train-cnn,torch-train-cnn,gemm-cnn",
    "gemm_floor_cnn": f"bench/gemm_floor_cnn.py {TINY}",
    "train_cnn": f"bench/train_cnn.py {TINY}",
    "per_op": "-m bench.per_op --number 10 --repeat 1",
    "diagnostics_overhead": f"-m bench.diagnostics_overhead {TINY} --rounds 1",
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_bench_script_completes_on_tiny_synthetic_data(command: str) -> None:
    done = subprocess.run(
        [sys.executable, *command.split()], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
