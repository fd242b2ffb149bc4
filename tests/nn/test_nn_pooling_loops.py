"""max_pool2d's compiled loops (nn.pooling_loops, where numba is installed) give what its
NumPy passes give (AUTOGRAD_NUMBA=0): the same maxima, the same winners, the same
gradients, over kernels, strides and paddings, with ties, NaNs and infinities."""

import numpy as np
import pytest

import autograd as ag
import nn.functional as F
from nn import pooling_loops
from nn.windows import Windows

pytest.importorskip("numba")

# (N, C, H, W), kernel, stride, padding: tiling, with a border left over, overlapping,
# with gaps between windows, padded, and not square
CASES = {
    "tiles": ((3, 2, 8, 6), 2, None, 0),
    "border": ((2, 3, 7, 9), 2, None, 0),
    "overlap": ((2, 2, 9, 8), 3, 2, 1),
    "gaps": ((2, 2, 10, 10), 2, 3, 0),
    "padded": ((1, 4, 6, 7), (3, 2), 1, (1, 1)),
    "stride-1": ((2, 3, 6, 6), 3, 1, 0),
}


def special_input(shape, dtype, seed):
    """Small integers (many ties), with NaNs and infinities spread among them."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 6)] = np.nan
    flat[rng.integers(0, flat.size, 4)] = np.inf
    flat[rng.integers(0, flat.size, 4)] = -np.inf
    return x


def pooled(monkeypatch, numba: bool, x, kernel, stride, padding, grad):
    """max_pool2d's output, its winners and the input's gradient, with or without numba."""
    if numba:
        monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)
    else:
        monkeypatch.setenv("AUTOGRAD_NUMBA", "0")
    t = ag.Tensor(x, requires_grad=True)
    out = F.max_pool2d(t, kernel, stride, padding)
    out.backward(grad)
    return out.data, out._node.winner, t.grad.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES.values(), ids=CASES.keys())
def test_the_compiled_loops_give_what_numpy_gives(
    monkeypatch, shape, kernel, stride, padding, dtype
):
    x = special_input(shape, dtype, seed=len(CASES[next(iter(CASES))]))
    out_shape = F.max_pool2d(ag.Tensor(x), kernel, stride, padding).shape
    grad = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)

    compiled = pooled(monkeypatch, True, x, kernel, stride, padding, grad)
    numpy = pooled(monkeypatch, False, x, kernel, stride, padding, grad)

    for got, expected in zip(compiled, numpy):
        np.testing.assert_array_equal(got, expected)  # NaN where NaN; 0.0 == -0.0


def test_the_compiled_loops_compute_what_the_definitions_compute():
    windows = Windows.over("max_pool2d", (7, 6), 3, 2, 0)
    xp = special_input((2, 7, 6, 3), np.float64, seed=2)  # (C, H, W, N), as the loops take
    shape = (2, *windows.out_size, 3)
    results = []
    for loops in (pooling_loops, pooling_loops.compiled()):
        best, winner = np.empty(shape), np.empty(shape, dtype=np.uint8)
        loops.max_and_winner(xp, *windows.kernel, *windows.stride, best, winner)
        dxp = np.zeros(xp.shape)
        loops.route(np.ones(shape), winner, *windows.kernel, *windows.stride, dxp, True)
        results.append((best, winner, dxp))

    for got, expected in zip(*results):
        np.testing.assert_array_equal(got, expected)


def test_float16_takes_numpys_passes_and_gets_their_result(monkeypatch):
    x = special_input((2, 3, 6, 6), np.float16, seed=3)
    grad = np.random.default_rng(4).standard_normal((2, 3, 3, 3)).astype(np.float16)

    compiled = pooled(monkeypatch, True, x, 2, None, 0, grad)
    numpy = pooled(monkeypatch, False, x, 2, None, 0, grad)

    for got, expected in zip(compiled, numpy):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
