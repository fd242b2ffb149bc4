"""relu on large float arrays runs np.maximum against a row of zeros (NumPy's vectorized
loop for two arrays) instead of the scalar 0: the same values bit for bit, in the same
memory order, for any shape and layout."""

import numpy as np
import pytest

import autograd as ag
from autograd.ops.unary import ZERO_ROW

SPECIAL = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.0, -3.0])


def large(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    """Normal numbers of `shape` with the special values spread among them."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 500)] = rng.choice(SPECIAL, 500).astype(dtype)
    return x


def bits(a: np.ndarray) -> np.ndarray:
    """The bit patterns of a's elements (which tell -0.0 from 0.0, and NaNs apart)."""
    return np.ascontiguousarray(a).view(f"u{a.itemsize}")


def layouts(x: np.ndarray) -> dict[str, np.ndarray]:
    """x as the op may see it: contiguous, a permuted view (conv2d's NCHW of CHWN memory),
    a Fortran-ordered copy and a strided slice (contiguous in no order)."""
    return {
        "contiguous": x,
        "permuted": x.transpose(*range(1, x.ndim), 0),
        "fortran": np.asfortranarray(x),
        "strided": x[..., ::2],
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape", [(ZERO_ROW,), (3, ZERO_ROW + 7), (16, 8, 13, 13), (5, 31, 17, 29), (100,)]
)
def test_relu_equals_np_maximum_with_zero_bit_for_bit_in_every_layout(shape, dtype):
    for x in layouts(large(shape, dtype, seed=len(shape))).values():
        out = ag.relu(ag.Tensor(x)).data
        expected = np.maximum(x, 0)

        assert out.dtype == expected.dtype and out.shape == expected.shape
        np.testing.assert_array_equal(bits(out), bits(expected))
        assert out.strides == expected.strides  # the memory order np.maximum gives


def test_relu_of_a_large_array_keeps_the_gradient_rule():
    x = ag.Tensor(large((4, 64, 128), np.float32, seed=1), requires_grad=True)

    ag.relu(x).sum().backward()

    passes = (np.maximum(x.data, 0) != 0).astype(np.float32)  # x > 0, or NaN
    np.testing.assert_array_equal(x.grad.data, passes)
