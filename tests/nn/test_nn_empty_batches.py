"""Every layer and functional of nn on an empty batch (and conv2d with no channels):
results of the right shape, empty gradients, and for a mean loss NaN, as in PyTorch."""

import warnings

import numpy as np
import pytest

import autograd as ag
import mnist.model
import nn
import nn.functional as F


def leaf(shape, dtype=np.float32):
    return ag.Tensor(np.zeros(shape, dtype=dtype), requires_grad=True)


def backward(out, *inputs):
    """Backpropagate ones from `out`; the inputs' gradient shapes."""
    out.backward(np.ones(out.shape, dtype=out.dtype))
    return [x.grad.shape for x in inputs]


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_shapes(fn, *shapes):
    """The output shape and input gradient shapes of torch's `fn` on zeros of `shapes`."""
    torch = torch_or_none()
    if torch is None:
        return None
    inputs = [torch.zeros(s, requires_grad=True) for s in shapes]
    out = fn(torch, *inputs)
    out.backward(torch.ones_like(out))
    return tuple(out.shape), [tuple(x.grad.shape) for x in inputs]


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_conv2d_of_an_empty_batch_is_empty_and_its_gradients_are_zeros(stride, padding):
    x, w, b = leaf((0, 3, 9, 9)), leaf((4, 3, 3, 3)), leaf((4,))
    w.data[...] = 1

    out = F.conv2d(x, w, b, stride, padding)
    grads = backward(out, x, w, b)

    assert grads == [(0, 3, 9, 9), (4, 3, 3, 3), (4,)]
    assert not w.grad.data.any() and not b.grad.data.any()  # no image: nothing to add up
    expected = torch_shapes(
        lambda t, x, w, b: t.nn.functional.conv2d(x, w, b, stride, padding),
        (0, 3, 9, 9),
        (4, 3, 3, 3),
        (4,),
    )
    assert out.shape == (expected[0] if expected else (0, 4, 9 // stride, 9 // stride))


def test_conv2d_with_no_output_channels_is_empty():
    x, w, b = leaf((2, 3, 5, 5)), leaf((0, 3, 3, 3)), leaf((0,))

    out = F.conv2d(x, w, b)
    grads = backward(out, x, w, b)

    assert out.shape == (2, 0, 3, 3) and grads == [(2, 3, 5, 5), (0, 3, 3, 3), (0,)]
    assert not x.grad.data.any()  # PyTorch 2.13 refuses a weight with no output channels


def test_conv2d_with_no_input_channels_is_its_bias():
    x, w, b = leaf((2, 0, 5, 5)), leaf((4, 0, 3, 3)), leaf((4,))
    b.data[...] = [1, 2, 3, 4]

    out = F.conv2d(x, w, b)
    grads = backward(out, x, w, b)

    # an empty sum is 0: every output is its channel's bias (PyTorch 2.13 gives shape
    # (2, 0, 3, 3) here instead, dropping the output channels)
    assert out.shape == (2, 4, 3, 3)
    np.testing.assert_array_equal(out.data[1, :, 2, 2], [1, 2, 3, 4])
    assert grads == [(2, 0, 5, 5), (4, 0, 3, 3), (4,)]
    np.testing.assert_array_equal(b.grad.data, [18, 18, 18, 18])


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_of_an_empty_batch_is_empty(pool):
    x = leaf((0, 3, 8, 8))

    out = pool(x, 3, 2, 1)

    assert out.shape == (0, 3, 4, 4) and backward(out, x) == [(0, 3, 8, 8)]
    expected = torch_shapes(
        lambda t, x: getattr(t.nn.functional, pool.__name__)(x, 3, 2, 1), x.shape
    )
    if expected:
        assert (out.shape, [x.grad.shape]) == expected


def test_dropout_of_an_empty_batch_is_empty():
    x = leaf((0, 10))

    out = F.dropout(x, 0.5, training=True, rng=np.random.default_rng(0))

    assert out.shape == (0, 10) and backward(out, x) == [(0, 10)]


def test_linear_of_an_empty_batch_is_empty_and_its_weight_gradient_zeros():
    layer = nn.Linear(5, 3, rng=np.random.default_rng(0))
    x = leaf((0, 5))

    out = layer(x)

    assert out.shape == (0, 3) and backward(out, x) == [(0, 5)]
    assert not layer.weight.grad.data.any() and not layer.bias.grad.data.any()


@pytest.mark.parametrize("start_dim, end_dim, shape", [(1, -1, (0, 48)), (0, 1, (0, 4, 4))])
def test_flatten_of_an_empty_batch_keeps_the_other_axes(start_dim, end_dim, shape):
    x = leaf((0, 3, 4, 4))

    out = nn.Flatten(start_dim, end_dim)(x)

    assert out.shape == shape and backward(out, x) == [(0, 3, 4, 4)]
    expected = torch_shapes(lambda t, x: t.nn.Flatten(start_dim, end_dim)(x), x.shape)
    if expected:
        assert out.shape == expected[0]


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_a_summed_loss_of_an_empty_batch_is_zero(loss):
    x = leaf((0, 10))

    out = loss(x, np.zeros(0, dtype=np.int64), reduction="sum")
    out.backward()

    assert out.item() == 0 and x.grad.shape == (0, 10)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_a_mean_loss_of_an_empty_batch_is_nan_as_pytorch(loss):
    x = leaf((0, 10))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's 0/0
        out = loss(x, np.zeros(0, dtype=np.int64))
        out.backward()

    assert np.isnan(out.item()) and x.grad.shape == (0, 10)
    torch = torch_or_none()
    if torch is not None:
        reference = getattr(torch.nn.functional, loss.__name__)
        assert torch.isnan(reference(torch.zeros(0, 10), torch.zeros(0, dtype=torch.long)))


def test_the_mnist_cnn_takes_an_empty_batch():
    model = mnist.model.cnn(np.random.default_rng(0))
    images = ag.Tensor(np.zeros((0, 1, 28, 28), dtype=np.float32))

    logits = model(images)
    F.cross_entropy(logits, np.zeros(0, dtype=np.int64), reduction="sum").backward()

    assert logits.shape == (0, 10)
    assert all(p.grad.shape == p.shape and not p.grad.data.any() for p in model.parameters())
