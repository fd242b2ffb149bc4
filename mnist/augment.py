"""Random shifts of training images, so that the CNN sees each digit in a few places.

MNIST's digits are centred by their centre of mass; moving one by a pixel or two
gives a digit a person still reads the same, and a model that learned it once
there generalises better than one that saw it in one place only.
"""

from __future__ import annotations

import numpy as np


def shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each of the images [N, H, W] moved by up to `max_shift` pixels along each axis,
    independently and uniformly at random; what comes in at the border is 0."""
    n, h, w = images.shape
    m = max_shift
    padded = np.pad(images, [(0, 0), (m, m), (m, m)])
    top, left = rng.integers(0, 2 * m + 1, (2, n))  # where each crop of the padding starts
    rows = top[:, None, None] + np.arange(h)[:, None]
    cols = left[:, None, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], rows, cols]
