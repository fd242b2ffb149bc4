"""The reference workload that every benchmark variant runs.

One epoch of MNIST training: Linear(784, 512)-ReLU-Linear(512, 10), softmax
cross-entropy (mean), RMSprop (PyTorch's rule, lr 1e-3, alpha 0.9, eps 1e-7),
batch 128, float32, pixels in [0, 1], reshuffled each epoch from a seed.

A variant is a function ``setup(data, params) -> epoch``: it builds its model from
the shared initial ``params`` and returns ``epoch(seed) -> seconds``, which trains
one epoch in the batch order given by ``batch_order(len(data), seed)`` and returns
the time it took. The model keeps training across calls.

The CNN workload (``*_cnn`` variants) is the same loop with the same batches and
optimizer around the issue's example CNN (``example_cnn``):
Conv2d(1, 32, 3)-ReLU-MaxPool2d(2)-Conv2d(32, 64, 3)-ReLU-MaxPool2d(2)-Flatten-
Dropout(0.5)-Linear(1600, 10) on images of (1, 28, 28), from ``init_cnn_params``.
It is not the CNN of ``python -m mnist.train --model cnn`` (``mnist.model.cnn``),
which has dropout 0.1 and Linear(1600, 128)-ReLU before its last layer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import mnist.data

IN_FEATURES, HIDDEN, CLASSES = 784, 512, 10
IMAGE = (1, 28, 28)  # the CNN's input: one channel of 28×28 pixels
CNN_SHAPES = {  # the CNN's parameters, named as nn.Sequential names them
    "0.weight": (32, 1, 3, 3),
    "0.bias": (32,),
    "3.weight": (64, 32, 3, 3),
    "3.bias": (64,),
    "8.weight": (CLASSES, 64 * 5 * 5),
    "8.bias": (CLASSES,),
}
DROPOUT = 0.5
BATCH = 128
LR, ALPHA, EPS = 1e-3, 0.9, 1e-7
WARMUP_EXAMPLES = 8 * BATCH

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = Path(os.environ.get("MNIST_DATA") or REPO.parent / "shared" / "mnist")

Params = dict[str, np.ndarray]
Epoch = Callable[[int], float]
Setup = Callable[["Data", Params], Epoch]


class Unavailable(Exception):
    """Raised by a variant's setup when what it needs (e.g. torch) is not installed."""


@dataclass(frozen=True)
class Data:
    """Training examples: ``x`` float32 (N, 784) in [0, 1], ``y`` int64 (N,) class indices."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> Data:
        """The first ``n`` examples."""
        return Data(self.x[:n], self.y[:n])


def mnist_train(data_dir: Path = DEFAULT_DATA_DIR, limit: int | None = None) -> Data:
    """The MNIST training set (the first ``limit`` examples), flattened and scaled to [0, 1]."""
    images, labels = mnist.data.load("train", data_dir, download=False)
    images, labels = images[:limit], labels[:limit]
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= 255
    return Data(x, labels.astype(np.int64))


def synthetic(n: int, seed: int = 0) -> Data:
    """Random images and labels of MNIST's shapes, for smoke tests without the real files."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, IN_FEATURES), dtype=np.uint8).astype(np.float32)
    x /= 255
    return Data(x, rng.integers(0, CLASSES, n, dtype=np.int64))


def init_params(seed: int = 0) -> Params:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias,
    named as nn.Sequential names them."""
    rng = np.random.default_rng(seed)
    params: Params = {}
    for name, (fan_out, fan_in) in {"0": (HIDDEN, IN_FEATURES), "2": (CLASSES, HIDDEN)}.items():
        bound = 1 / np.sqrt(fan_in)
        params[f"{name}.weight"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        params[f"{name}.bias"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    return params


def init_cnn_params(seed: int = 0) -> Params:
    """PyTorch's default Conv2d and Linear init: weight and bias from U(±1/sqrt(fan_in)),
    fan_in = in_channels·kh·kw (or in_features), drawn from a seeded NumPy generator."""
    rng = np.random.default_rng(seed)
    params: Params = {}
    for name, shape in CNN_SHAPES.items():
        layer = name.split(".")[0]
        bound = 1 / np.sqrt(np.prod(CNN_SHAPES[f"{layer}.weight"][1:]))
        params[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return params


def example_cnn(nn: Any) -> Any:
    """The issue's example CNN, built from `nn`: this project's or torch.nn, which
    share these names and arguments."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(DROPOUT),
        nn.Linear(64 * 5 * 5, CLASSES),
    )


def batch_order(n: int, seed: int) -> list[np.ndarray]:
    """Index arrays of one epoch's batches: a seeded shuffle cut into BATCH-sized pieces."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[i : i + BATCH] for i in range(0, n, BATCH)]


def measure(setup: Setup, data: Data, params: Params, seed: int, epochs: int = 1) -> list[float]:
    """Seconds of each of ``epochs`` consecutive epochs of a fresh model, after a warm-up.

    The warm-up trains a throwaway model for a few steps, so that thread pools,
    lazy imports and allocator caches are ready without changing the measured
    model's trajectory.
    """
    setup(data.head(WARMUP_EXAMPLES), params)(seed)
    epoch = setup(data, params)
    return [epoch(seed + e) for e in range(epochs)]


def add_data_args(parser: argparse.ArgumentParser) -> None:
    """The options that choose the data and the seed, shared by all bench scripts."""
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="MNIST IDX.gz")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N examples")
    parser.add_argument("--synthetic", action="store_true", help="random data instead of MNIST")
    parser.add_argument("--seed", type=int, default=0, help="init and shuffle seed")


def load(args: argparse.Namespace) -> Data:
    """The data that ``add_data_args``' options choose."""
    if args.synthetic:
        return synthetic(args.limit or 60_000, args.seed)
    return mnist_train(args.data_dir, args.limit)


def main(
    setup: Setup,
    description: str,
    init: Callable[[int], Params] = init_params,
    argv: Sequence[str] | None = None,
) -> None:
    """Command line of a single variant starting from ``init(seed)``: print the seconds
    of each epoch."""
    parser = argparse.ArgumentParser(description=description)
    add_data_args(parser)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    data = load(args)
    try:
        seconds = measure(setup, data, init(args.seed), args.seed, args.epochs)
    except Unavailable as e:
        print(f"skipped: {e}")
        return
    for i, s in enumerate(seconds, 1):
        print(f"epoch {i}: {s:.3f} s ({len(data)} examples)")
