"""conv2d's compiled col2im adds (nn.conv_loops, where numba is installed) give what its
NumPy passes give (AUTOGRAD_NUMBA=0), bit for bit, over kernels, strides and paddings."""

import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from nn import conv_loops

pytest.importorskip("numba")

# (N, C, H, W), (O, kh, kw), stride, padding: overlapping windows, tiling ones, windows
# with gaps between them, padded, not square, and blocks of several rows of windows
CASES = {
    "3x3": ((2, 3, 7, 6), (4, 3, 3), 1, 0),
    "tiles": ((2, 2, 8, 6), (3, 2, 2), 2, 0),
    "gaps": ((2, 2, 10, 10), (2, 2, 2), 3, 0),
    "padded-strided": ((2, 2, 7, 8), (3, 3, 3), 2, 1),
    "non-square": ((1, 2, 5, 7), (2, 2, 3), (2, 1), (1, 0)),
    "many-rows": ((3, 2, 30, 5), (2, 3, 3), 1, 1),
}


def input_gradient(monkeypatch, numba: bool, x, w, b, stride, padding, grad):
    """conv2d's gradient for x, with or without numba."""
    if numba:
        monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)
    else:
        monkeypatch.setenv("AUTOGRAD_NUMBA", "0")
    t = ag.Tensor(x, requires_grad=True)
    F.conv2d(t, w, b, stride, padding).backward(grad)
    return t.grad.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES.values(), ids=CASES.keys())
def test_the_compiled_adds_give_what_numpy_gives_bit_for_bit(
    monkeypatch, x_shape, w_shape, stride, padding, dtype
):
    rng = np.random.default_rng(0)
    o, kh, kw = w_shape
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((o, x_shape[1], kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    grad = rng.standard_normal(F.conv2d(ag.Tensor(x), w, b, stride, padding).shape)
    grad = grad.astype(dtype)

    compiled = input_gradient(monkeypatch, True, x, w, b, stride, padding, grad)
    numpy = input_gradient(monkeypatch, False, x, w, b, stride, padding, grad)

    assert compiled.dtype == numpy.dtype == dtype
    np.testing.assert_array_equal(compiled, numpy)


def test_the_compiled_loop_computes_what_the_definition_computes():
    rng = np.random.default_rng(1)
    block = rng.standard_normal((2, 3, 2, 2, 3, 4))  # (C, kh, kw, rows, Wo, N)
    results = []
    for loops in (conv_loops, conv_loops.compiled()):
        xp = np.ones((2, 9, 6, 4))  # rows 2 and 3 of windows, stride 2: input rows 4-8
        loops.add_windows(block, xp, 2, 2, 2)
        results.append(xp)

    np.testing.assert_array_equal(*results)
    assert results[0][:, :4].sum() == 2 * 4 * 6 * 4  # rows above the block: untouched


def test_every_share_of_the_block_lands_at_its_element():
    block = np.arange(2 * 2 * 2 * 1 * 2 * 1, dtype=float).reshape(2, 2, 2, 1, 2, 1)
    xp = np.zeros((2, 3, 3, 1))
    conv_loops.compiled().add_windows(block, xp, 1, 1, 1)  # row 1 of windows, stride 1

    expected = np.zeros((2, 3, 3, 1))
    for c, u, v, j in np.ndindex(2, 2, 2, 2):
        expected[c, 1 + u, j + v, 0] += block[c, u, v, 0, j, 0]
    np.testing.assert_array_equal(xp, expected)


def test_float16_takes_numpys_passes_and_gets_their_result(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    grad = rng.standard_normal((2, 4, 4, 4)).astype(np.float16)

    compiled = input_gradient(monkeypatch, True, x, w, None, 1, 0, grad)
    numpy = input_gradient(monkeypatch, False, x, w, None, 1, 0, grad)

    assert compiled.dtype == np.float16
    np.testing.assert_array_equal(compiled, numpy)
