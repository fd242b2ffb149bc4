"""What the training diagnostics cost: `mnist.train` with and without them, interleaved.

Each round runs `python -m mnist.train`'s training (in this process, after one
warm-up run) once with `--diagnostics-every K` and once with 0 (off), in
alternating order, and compares the seconds spent in training steps (the
metrics' "seconds"; loading data and testing are left out). Printed: the median
and range of the per-round ratios, with / without.

    python -m bench.diagnostics_overhead [--rounds 10] [--epochs 1] [--every 50]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as `python bench/diagnostics_overhead.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import DEFAULT_DATA_DIR
from mnist import data, train


def training_seconds(data_dir: str, epochs: int, every: int, limit: int | None) -> float:
    options = ["--data-dir", data_dir, "--epochs", str(epochs), "--diagnostics-every", str(every)]
    options += ["--limit", str(limit)] if limit else []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        trainer = train.run(train.parse_args(options))
    return sum(h["seconds"] for h in trainer.history)


def synthetic_mnist(folder: Path, count: int) -> None:
    """Random MNIST-shaped IDX files, for a smoke run without the real data."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        images_name, labels_name = data.FILES[split]
        data.write_idx(folder / images_name, rng.integers(0, 256, (count, 28, 28), np.uint8))
        data.write_idx(folder / labels_name, rng.integers(0, 10, count).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--every", type=int, default=train.DIAGNOSTICS_EVERY)
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--synthetic", action="store_true", help="random data, for a smoke run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.synthetic:
            synthetic_mnist(Path(folder), args.limit or 512)
            args.data_dir = folder
        training_seconds(args.data_dir, 1, args.every, args.limit)  # warm-up: numba, caches
        ratios = []
        for round in range(args.rounds):
            order = [args.every, 0] if round % 2 else [0, args.every]
            seconds = {
                every: training_seconds(args.data_dir, args.epochs, every, args.limit)
                for every in order
            }
            ratios.append(seconds[args.every] / seconds[0])
            print(
                f"round {round + 1}: with {seconds[args.every]:.3f} s, "
                f"without {seconds[0]:.3f} s, ratio {ratios[-1]:.3f}",
                flush=True,
            )
    print(
        f"diagnostics every {args.every} batches: with / without = "
        f"{statistics.median(ratios):.3f} (median of {len(ratios)} rounds; "
        f"range {min(ratios):.3f}-{max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
