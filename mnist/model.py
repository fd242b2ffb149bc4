"""The MNIST model: Linear(784, hidden)-ReLU-Linear(hidden, 10), and its inputs."""

from __future__ import annotations

import numpy as np

import nn


def mlp(
    hidden: int = 512, rng: np.random.Generator | None = None, dtype: type = np.float32
) -> nn.Sequential:
    """The two-layer perceptron, initialised as PyTorch would (uniform ±1/√fan_in)."""
    rng = rng if rng is not None else np.random.default_rng()
    return nn.Sequential(
        nn.Linear(784, hidden, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Linear(hidden, 10, rng=rng, dtype=dtype),
    )


def flatten_images(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] as float32 rows [N, 784] scaled to [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)
