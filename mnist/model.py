"""The MNIST models and their inputs.

- `mlp`: Linear(784, hidden)-ReLU-Linear(hidden, 10), on rows of 784 pixels;
- `cnn`: two 3×3 convolutions (32 and 64 channels), each followed by ReLU and 2×2
  max-pooling, then Linear(1600, 128)-ReLU-Linear(128, 10) with dropout before each
  linear layer, on images of (1, 28, 28).
"""

from __future__ import annotations

import numpy as np

import nn

MODELS = ("mlp", "cnn")


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


def cnn(
    rng: np.random.Generator | None = None, dtype: type = np.float32, dropout: float = 0.1
) -> nn.Sequential:
    """The convolutional network, initialised as PyTorch would. `rng` draws the initial
    weights and then, in training mode, the dropout masks, so one seeded generator makes
    a whole run repeatable (`mnist.train` gives the dropouts a generator of their own per
    step). Shapes for a batch of N:

    (N, 1, 28, 28) -conv 3×3-> (N, 32, 26, 26) -pool-> (N, 32, 13, 13)
    -conv 3×3-> (N, 64, 11, 11) -pool-> (N, 64, 5, 5) -flatten-> (N, 1600)
    -linear-> (N, 128) -linear-> (N, 10)
    """
    rng = rng if rng is not None else np.random.default_rng()
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout, rng=rng),
        nn.Linear(64 * 5 * 5, 128, rng=rng, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(dropout, rng=rng),
        nn.Linear(128, 10, rng=rng, dtype=dtype),
    )


def build(
    name: str, hidden: int = 512, rng: np.random.Generator | None = None, dtype: type = np.float32
) -> nn.Sequential:
    """The model called `name` ("mlp" or "cnn"; `hidden` is the MLP's width)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return cnn(rng, dtype) if name == "cnn" else mlp(hidden, rng, dtype)


def flatten_images(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] as float32 rows [N, 784] scaled to [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def image_batch(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, H, W] as float32 [N, 1, H, W] scaled to [0, 1]: one channel."""
    return images[:, None].astype(np.float32) / np.float32(255)


def model_input(name: str, images: np.ndarray) -> np.ndarray:
    """uint8 images [N, 28, 28] as the model `name` takes them."""
    return image_batch(images) if name == "cnn" else flatten_images(images)
