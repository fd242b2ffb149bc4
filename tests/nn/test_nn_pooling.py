"""nn.functional.max_pool2d and avg_pool2d and their VJPs (nn/pooling.py)."""

import warnings

import numpy as np
import pytest

import autograd as ag
import nn.functional as F

POOLS = [F.max_pool2d, F.avg_pool2d]
# (N, C, H, W), kernel_size, stride, padding
CASES = {
    "2x2": ((2, 3, 6, 6), 2, None, 0),
    "odd-size-drops-the-last-row": ((2, 2, 7, 5), 2, None, 0),
    "overlapping-3x3-stride-2-padded": ((2, 2, 7, 8), 3, 2, 1),
    "non-square": ((1, 2, 5, 7), (2, 3), (1, 2), (1, 1)),
    "stride-1": ((2, 1, 5, 5), 3, 1, 0),
}


def distinct(shape, seed=0):
    """A float64 input whose elements all differ, so that no window has a tie."""
    values = np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) / 7.0
    return ag.Tensor(values, requires_grad=True)


def naive_pool(x, kernel, stride, padding, reduce, fill):
    kh, kw = np.broadcast_to(kernel, 2)
    sh, sw = np.broadcast_to(kernel if stride is None else stride, 2)
    ph, pw = np.broadcast_to(padding, 2)
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], constant_values=fill)
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty(x.shape[:2] + (ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = reduce(xp[:, :, sh * i : sh * i + kh, sw * j : sw * j + kw])
    return out


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES.values(), ids=CASES.keys())
def test_max_pool2d_takes_the_maximum_of_every_window(shape, kernel, stride, padding):
    x = distinct(shape)

    out = F.max_pool2d(x, kernel, stride, padding)

    expected = naive_pool(x.data, kernel, stride, padding, lambda w: w.max(axis=(2, 3)), -np.inf)
    np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("shape, kernel, stride, padding", CASES.values(), ids=CASES.keys())
def test_avg_pool2d_takes_the_mean_of_every_window_padding_counted(shape, kernel, stride, padding):
    x = distinct(shape)

    out = F.avg_pool2d(x, kernel, stride, padding)

    expected = naive_pool(x.data, kernel, stride, padding, lambda w: w.mean(axis=(2, 3)), 0)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES.values(), ids=CASES.keys())
def test_pooling_passes_gradcheck_and_gradgradcheck(pool, shape, kernel, stride, padding):
    def fn(x):
        return pool(x, kernel, stride, padding)

    assert ag.gradcheck(fn, [distinct(shape)])
    assert ag.gradgradcheck(fn, [distinct(shape)])


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("shape, kernel, stride, padding", CASES.values(), ids=CASES.keys())
def test_pooling_matches_torch_forward_and_gradient(pool, shape, kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x = distinct(shape)
    tx = torch.tensor(x.data, requires_grad=True)
    reference = getattr(torch.nn.functional, pool.__name__)

    out = pool(x, kernel, stride, padding)
    expected = reference(tx, kernel, stride, padding)
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(ag.Tensor(g))
    expected.backward(torch.tensor(g))

    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


def test_max_pool2d_sends_the_gradient_of_a_tie_to_its_first_maximum_only():
    x = ag.Tensor(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]), requires_grad=True)

    F.max_pool2d(x, 2).backward(ag.Tensor(np.array([[[[5.0]]]])))

    np.testing.assert_array_equal(x.grad.data, [[[[0, 5], [0, 0]]]])


def test_max_pool2d_of_a_tie_matches_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).integers(0, 3, (2, 2, 6, 6)).astype(np.float64)
    x, tx = ag.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)

    F.max_pool2d(x, 3, 1).sum().backward()
    torch.nn.functional.max_pool2d(tx, 3, 1).sum().backward()

    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_max_pool2d_propagates_nan():
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 2] = np.nan

    out = F.max_pool2d(ag.Tensor(x), 2).data

    np.testing.assert_array_equal(np.isnan(out), [[[[False, True], [False, False]]]])


@pytest.mark.parametrize("pool", POOLS)
def test_pooling_keeps_float32_and_the_stride_defaults_to_the_kernel(pool):
    x = ag.Tensor(np.ones((2, 3, 8, 8), dtype=np.float32), requires_grad=True)

    out = pool(x, 4)
    out.sum().backward()

    assert out.shape == (2, 3, 2, 2)
    assert out.dtype == x.grad.dtype == np.float32


@pytest.mark.parametrize("pool", POOLS)
def test_padding_beyond_half_the_kernel_is_refused(pool):
    x = ag.Tensor(np.ones((1, 1, 6, 6)))

    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel"):
        pool(x, 3, padding=2)


@pytest.mark.parametrize("pool", POOLS)
def test_a_kernel_larger_than_the_input_or_an_input_of_the_wrong_rank_is_refused(pool):
    with pytest.raises(ValueError, match=r"kernel \(3, 3\) is larger than the padded input"):
        pool(ag.Tensor(np.ones((1, 1, 2, 2))), 3)
    with pytest.raises(ValueError, match=r"input must be \(N, C, H, W\) or \(C, H, W\)"):
        pool(ag.Tensor(np.ones((4, 4))), 2)


@pytest.mark.parametrize("pool", POOLS)
def test_one_image_without_a_batch_axis_is_pooled_as_a_batch_of_one(pool):
    image = distinct((2, 7, 6))

    out = pool(image, 3, 2, 1)

    np.testing.assert_array_equal(out.data, pool(distinct((1, 2, 7, 6)), 3, 2, 1).data[0])
    assert ag.gradcheck(lambda t: pool(t, 3, 2, 1), [image])


def test_avg_pool2d_of_integers_is_float32_as_a_mean_and_max_pool2d_keeps_them():
    images = np.arange(16, dtype=np.int64).reshape(1, 1, 4, 4)

    mean, largest = F.avg_pool2d(images, 2), F.max_pool2d(images, 2)

    assert mean.dtype == np.float32 and largest.dtype == np.int64
    np.testing.assert_array_equal(mean.data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(largest.data[0, 0], [[5, 7], [13, 15]])


def _torch_max_pool_grad(data, upstream, kernel, stride, padding):
    """PyTorch's max_pool2d of `data` and its gradient for `upstream`, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    t = torch.tensor(data, requires_grad=True)
    out = torch.nn.functional.max_pool2d(t, kernel, stride, padding)
    out.backward(torch.tensor(upstream))
    return out.detach().numpy(), t.grad.numpy()


def _max_pool_grad(data, upstream, kernel, stride, padding):
    x = ag.Tensor(data, requires_grad=True)
    out = F.max_pool2d(x, kernel, stride, padding)
    out.backward(upstream)
    return out.data, x.grad.data


def test_max_pool2d_of_bools_pads_with_false():
    x = np.zeros((1, 1, 3, 3), dtype=bool)
    x[0, 0, 1, 1] = True

    out = F.max_pool2d(x, 2, 1, 1)

    expected = np.zeros((4, 4), dtype=bool)
    expected[1:3, 1:3] = True  # the windows that hold the centre, and no others
    assert out.dtype == bool
    np.testing.assert_array_equal(out.data[0, 0], expected)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8])
def test_max_pool2d_of_integers_pads_with_the_dtypes_minimum(dtype):
    x = np.arange(9, dtype=dtype).reshape(1, 1, 3, 3)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # uint8 warned about converting -inf
        out = F.max_pool2d(x, 3, 2, 1)

    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data[0, 0], [[4, 5], [7, 8]])
    if dtype != np.uint8:  # torch's max_pool2d takes no uint8
        torch = pytest.importorskip("torch")
        expected = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1)
        np.testing.assert_array_equal(out.data, expected.numpy())


@pytest.mark.parametrize(
    "kernel, stride, padding", [((1, 4), None, 0), (2, 2, 0), (2, 1, 1), (3, 1, 1)]
)
def test_max_pool2d_sends_the_gradient_to_a_nan_as_pytorch(kernel, stride, padding):
    data = np.array([[[[1, np.nan, 3, np.nan], [np.nan, 2, 5, 1]]]], dtype=np.float32)
    shape = F.max_pool2d(data, kernel, stride, padding).shape
    upstream = np.random.default_rng(0).standard_normal(shape).astype(np.float32)

    out, grad = _max_pool_grad(data, upstream, kernel, stride, padding)

    if kernel == (1, 4):  # windows 1, NaN, 3, NaN and NaN, 2, 5, 1: the last NaN takes it
        u = upstream[0, 0, :, 0]
        np.testing.assert_array_equal(grad[0, 0], [[0, 0, 0, u[0]], [u[1], 0, 0, 0]])
    expected = _torch_max_pool_grad(data, upstream, kernel, stride, padding)
    if expected is not None:
        np.testing.assert_array_equal(out, expected[0])
        np.testing.assert_allclose(grad, expected[1], rtol=1e-6)  # overlaps add in another order


def test_max_pool2d_of_all_minus_inf_keeps_the_gradient_out_of_the_padding():
    data = np.full((1, 1, 2, 2), -np.inf, dtype=np.float32)
    upstream = np.ones((1, 1, 3, 3), dtype=np.float32)

    _, grad = _max_pool_grad(data, upstream, 2, 1, 1)

    # each window's first element inside the input wins: nothing is lost in the padding
    np.testing.assert_array_equal(grad[0, 0], [[4, 2], [2, 1]])
    assert grad.sum() == upstream.sum()
    expected = _torch_max_pool_grad(data, upstream, 2, 1, 1)
    if expected is not None:
        np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("stride", [2, 1], ids=["apart", "overlapping"])
def test_max_pool2d_with_an_infinite_gradient_leaves_zero_where_no_maximum_was(stride):
    data = np.array([[[[1, 2, 0], [3, 4, 0], [0, 0, 0]]]], dtype=np.float32)
    upstream = np.full(F.max_pool2d(data, 2, stride).shape, np.inf, dtype=np.float32)

    _, grad = _max_pool_grad(data, upstream, 2, stride, 0)

    assert not np.isnan(grad).any()
    assert (grad[0, 0] == np.inf).sum() == 1 and grad[0, 0, 1, 1] == np.inf
    expected = _torch_max_pool_grad(data, upstream, 2, stride, 0)
    if expected is not None:
        np.testing.assert_array_equal(grad, expected[1])


def test_max_pool2d_second_derivative_with_an_infinite_direction_is_free_of_nan():
    x = ag.Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    g = ag.Tensor(np.ones((1, 1, 1, 1)), requires_grad=True)
    (dx,) = ag.grad(F.max_pool2d(x, 2), x, g, create_graph=True)

    (dg,) = ag.grad(dx, g, np.array([[[[np.inf, 0, 0, 0]]]]).reshape(1, 1, 2, 2))

    np.testing.assert_array_equal(dg.data, [[[[0.0]]]])  # the inf was not at the maximum
