"""nn.functional.conv2d and its two VJPs (nn/conv.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn.functional as F
from nn import conv
from nn.conv import ConvTranspose, ConvWeightGrad
from nn.windows import Windows

# (N, C, H, W), (O, kh, kw), stride, padding: square and not, strided, padded, both
CASES = {
    "3x3": ((2, 3, 7, 6), (4, 3, 3), 1, 0),
    "non-square-kernel": ((2, 2, 6, 7), (3, 2, 3), 1, 0),
    "stride-2-padding-1": ((2, 2, 7, 8), (3, 3, 3), 2, 1),
    "pairs": ((1, 2, 5, 7), (2, 2, 3), (2, 1), (1, 0)),
    "1x1": ((2, 3, 4, 4), (2, 1, 1), 1, 0),
    "kernel-as-large-as-input": ((2, 1, 4, 4), (2, 4, 4), 1, 0),
    "stride-leaves-a-remainder": ((1, 2, 8, 8), (2, 3, 3), 3, 0),
}


def operands(x_shape, w_shape, seed=0, dtype=np.float64, requires_grad=True):
    rng = np.random.default_rng(seed)
    o, kh, kw = w_shape
    arrays = (
        rng.standard_normal(x_shape),
        rng.standard_normal((o, x_shape[1], kh, kw)),
        rng.standard_normal(o),
    )
    return [ag.Tensor(a.astype(dtype), requires_grad=requires_grad) for a in arrays]


def naive_conv2d(x, w, b, stride, padding):
    """out[n, o, i, j] = Σ_{c,u,v} xp[n, c, s·i + u, s·j + v] · w[o, c, u, v] + b[o], by loops."""
    (sh, sw), (ph, pw) = np.broadcast_to(stride, 2), np.broadcast_to(padding, 2)
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    o, _, kh, kw = w.shape
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty((len(x), o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, sh * i : sh * i + kh, sw * j : sw * j + kw]
            out[:, :, i, j] = np.einsum("ncuv,ocuv->no", window, w) + b
    return out


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES.values(), ids=CASES.keys())
def test_conv2d_computes_the_sum_over_every_window(x_shape, w_shape, stride, padding):
    x, w, b = operands(x_shape, w_shape)

    out = F.conv2d(x, w, b, stride, padding)

    np.testing.assert_allclose(out.data, naive_conv2d(x.data, w.data, b.data, stride, padding))


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES.values(), ids=CASES.keys())
def test_conv2d_passes_gradcheck_and_gradgradcheck(x_shape, w_shape, stride, padding):
    def conv(x, w, b):
        return F.conv2d(x, w, b, stride, padding)

    inputs = operands(x_shape, w_shape)
    assert ag.gradcheck(conv, inputs)
    assert ag.gradgradcheck(conv, inputs)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding", CASES.values(), ids=CASES.keys())
def test_conv2d_matches_torch_forward_and_gradients(x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = operands(x_shape, w_shape)
    tx, tw, tb = (torch.tensor(t.data, requires_grad=True) for t in (x, w, b))
    g = np.random.default_rng(9).standard_normal(F.conv2d(x, w, b, stride, padding).shape)

    F.conv2d(x, w, b, stride, padding).backward(ag.Tensor(g))
    torch.nn.functional.conv2d(tx, tw, tb, stride, padding).backward(torch.tensor(g))

    expected = torch.nn.functional.conv2d(tx, tw, tb, stride, padding).detach().numpy()
    np.testing.assert_allclose(F.conv2d(x, w, b, stride, padding).data, expected, atol=1e-12)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
def test_conv2d_output_shape_and_values_for_any_geometry(n, c, o, h, w, kh, kw, stride, padding):
    if kh > h + 2 * padding[0] or kw > w + 2 * padding[1]:
        return  # no window fits: an error, tested below
    x, weight, b = operands((n, c, h, w), (o, kh, kw))

    out = F.conv2d(x, weight, b, stride, padding)

    expected_size = tuple(
        (m + 2 * p - k) // s + 1 for m, p, k, s in zip((h, w), padding, (kh, kw), stride)
    )
    assert out.shape == (n, o, *expected_size)
    np.testing.assert_allclose(out.data, naive_conv2d(x.data, weight.data, b.data, stride, padding))


def test_conv2d_keeps_float32():
    x, w, b = operands((2, 3, 6, 6), (4, 3, 3), dtype=np.float32)

    out = F.conv2d(x, w, b, padding=1)
    out.sum().backward()

    assert out.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_conv2d_without_bias_is_the_correlation_alone():
    x, w, b = operands((2, 2, 5, 5), (3, 3, 3))

    np.testing.assert_allclose(F.conv2d(x, w).data, naive_conv2d(x.data, w.data, np.zeros(3), 1, 0))


def test_conv2d_of_an_input_without_grad_gives_the_weight_its_gradient_only():
    x, w, b = operands((2, 1, 6, 6), (3, 3, 3))
    x = x.detach()

    F.conv2d(x, w, b).sum().backward()

    assert x.grad is None
    # d Σ out / dw[o, c, u, v] = Σ of the input under (u, v) of every window
    expected = np.stack(
        [
            x.data[:, :, u : u + 4, v : v + 4].sum(axis=(0, 2, 3))
            for u in range(3)
            for v in range(3)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(w.grad.data, np.broadcast_to(expected.reshape(1, 1, 3, 3), w.shape))


@pytest.mark.parametrize(
    "vjp, shapes, options",
    [
        (ConvTranspose, ((2, 4, 5, 5), (4, 3, 3, 2)), {}),  # g (N, O, Ho, Wo), w (O, C, kh, kw)
        (ConvWeightGrad, ((2, 3, 7, 6), (2, 4, 5, 5)), {}),  # x (N, C, H, W), g (N, O, Ho, Wo)
        (ConvWeightGrad, ((2, 3, 7, 6), (2, 4, 5, 5)), {"bias": True}),  # [dw | db]
    ],
    ids=["transposed-convolution", "weight-gradient", "weight-and-bias-gradient"],
)
def test_each_vjp_of_conv2d_is_itself_differentiable(vjp, shapes, options):
    windows = Windows.over("conv2d", (7, 6), (3, 2), 1, 0)
    rng = np.random.default_rng(0)
    inputs = [ag.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]

    def op(a, b):
        return vjp.apply(a, b, windows=windows, **options)

    assert ag.gradcheck(op, inputs)
    assert ag.gradgradcheck(op, inputs)


def test_a_channel_mismatch_names_both_counts():
    x, w, _ = operands((1, 3, 5, 5), (2, 3, 3))

    with pytest.raises(ValueError, match="3 channels but the weight .* expects 2"):
        F.conv2d(x, w[:, :2])


def test_a_kernel_larger_than_the_padded_input_says_so():
    x, w, _ = operands((1, 1, 2, 2), (1, 5, 5))

    with pytest.raises(
        ValueError, match=r"kernel \(5, 5\) is larger than the padded input \(4, 4\)"
    ):
        F.conv2d(x, w, padding=1)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"stride": 0}, "stride must be positive"),
        ({"stride": (1, 2, 3)}, "stride must be an int or a pair"),
        ({"padding": -1}, "padding must be non-negative"),
        ({"padding": 1.5}, "padding must be an int or a pair"),
    ],
)
def test_a_bad_stride_or_padding_is_refused(options, message):
    x, w, _ = operands((1, 1, 5, 5), (1, 3, 3))

    with pytest.raises((ValueError, TypeError), match=message):
        F.conv2d(x, w, **options)


def test_inputs_of_the_wrong_rank_or_bias_of_the_wrong_shape_are_refused():
    x, w, b = operands((1, 1, 5, 5), (2, 3, 3))

    with pytest.raises(ValueError, match=r"input must be \(N, C, H, W\) or \(C, H, W\)"):
        F.conv2d(x[0, 0], w)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        F.conv2d(x, w, b[:1])


def test_one_image_without_a_batch_axis_is_convolved_as_a_batch_of_one():
    x, w, b = operands((1, 3, 6, 5), (2, 3, 3))
    image = ag.Tensor(x.data[0], requires_grad=True)

    out = F.conv2d(image, w, b, stride=(2, 1), padding=1)

    batched = F.conv2d(x, w, b, stride=(2, 1), padding=1)
    np.testing.assert_array_equal(out.data, batched.data[0])
    assert ag.gradcheck(lambda t, w, b: F.conv2d(t, w, b, stride=(2, 1), padding=1), [image, w, b])


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, bool])
def test_integer_or_bool_images_are_convolved_in_the_weights_floating_dtype(dtype):
    images = np.ones((1, 1, 4, 4), dtype=dtype)
    w = ag.Tensor(np.ones((2, 1, 3, 3), dtype=np.float32), requires_grad=True)

    out = F.conv2d(images, w)
    out.sum().backward()

    assert out.dtype == np.float32 and w.grad.dtype == np.float32
    np.testing.assert_array_equal(out.data, np.full((1, 2, 2, 2), 9, dtype=np.float32))


def test_the_weight_and_bias_gradient_is_dw_beside_the_sum_of_the_output_gradient():
    windows = Windows.over("conv2d", (7, 6), (3, 2), 1, 0)
    rng = np.random.default_rng(0)
    x, g = (ag.Tensor(rng.standard_normal(shape)) for shape in [(2, 3, 7, 6), (2, 4, 5, 5)])

    both = ConvWeightGrad.apply(x, g, windows=windows, bias=True)

    dw = ConvWeightGrad.apply(x, g, windows=windows)
    np.testing.assert_allclose(both.data[:, :-1], dw.data.reshape(4, -1))
    np.testing.assert_allclose(both.data[:, -1], g.data.sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("block_columns", [1, 100, 333])  # 1 row of windows, 2-3, 7+3
@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_the_input_gradient_made_in_blocks_of_windows_equals_one_whole_product(
    monkeypatch, block_columns, stride, padding
):
    x, w, b = operands((5, 3, 12, 10), (4, 3, 2), seed=1)
    grad = np.random.default_rng(2).standard_normal(F.conv2d(x, w, b, stride, padding).shape)

    def input_gradient(columns):
        monkeypatch.setattr(conv, "BLOCK_COLUMNS", columns)
        x.grad = None
        F.conv2d(x, w, b, stride, padding).backward(grad)
        return x.grad.data

    whole = input_gradient(10**9)  # one block: the whole (C·kh·kw, Ho·Wo·N) product
    np.testing.assert_allclose(input_gradient(block_columns), whole, rtol=1e-12, atol=1e-12)
