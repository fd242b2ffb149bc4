"""mnist.augment: random shifts of training images."""

import numpy as np

from mnist.augment import shift


class Offsets:
    """A stand-in generator whose integers() returns the given crop offsets."""

    def __init__(self, top, left):
        self.offsets = np.array([top, left])

    def integers(self, low, high, size):
        return self.offsets


def test_every_image_moves_by_at_most_max_shift_with_every_offset_drawn():
    images = np.zeros((200, 9, 9), dtype=np.uint8)
    images[:, 4, 4] = 255  # one lit pixel in the middle

    moved = shift(images, 2, np.random.default_rng(0))

    assert moved.shape == images.shape and moved.dtype == np.uint8
    n, rows, cols = np.nonzero(moved)
    assert list(n) == list(range(200))  # the pixel stays, once per image
    assert set(rows) == set(cols) == {2, 3, 4, 5, 6}  # offsets -2 .. 2 along each axis


def test_a_shift_moves_the_pixels_and_brings_in_zeros():
    images = np.arange(1, 2 * 16 + 1, dtype=np.uint8).reshape(2, 4, 4)

    # crop offsets (top, left): image 0 (0, 2) moves down 1 and left 1, image 1 (1, 1) stays
    moved = shift(images, 1, Offsets(top=[0, 1], left=[2, 1]))

    np.testing.assert_array_equal(moved[0, 1:, :3], images[0, :3, 1:])
    np.testing.assert_array_equal(moved[0, 0], 0)
    np.testing.assert_array_equal(moved[0, :, 3], 0)
    np.testing.assert_array_equal(moved[1], images[1])


def test_no_shift_leaves_the_images_as_they_are():
    images = np.random.default_rng(0).integers(0, 256, (4, 6, 6), dtype=np.uint8)

    np.testing.assert_array_equal(shift(images, 0, np.random.default_rng(0)), images)
