from pathlib import Path

import numpy as np
import pytest

from mnist import data


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory) -> Path:
    """A learnable MNIST-shaped dataset: each digit class lights up its own rows."""
    folder = tmp_path_factory.mktemp("tiny-mnist")
    rng = np.random.default_rng(0)
    for split, count in (("train", 300), ("test", 100)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 3] = 255
        images_name, labels_name = data.FILES[split]
        data.write_idx(folder / images_name, images)
        data.write_idx(folder / labels_name, labels)
    return folder
