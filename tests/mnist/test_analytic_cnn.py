"""mnist.analytic for the CNN: its gradients by hand, against the engine and its own pieces."""

import numpy as np
import pytest

import autograd as ag
import nn
from mnist import analytic
from mnist.model import cnn


def problem(batch: int = 3, seed: int = 0):
    """A float64 CNN in eval mode and a batch of random images with labels."""
    rng = np.random.default_rng(seed)
    model = cnn(rng, dtype=np.float64).eval()
    x = rng.random((batch, 1, 28, 28))
    x[:, :, :4] = 0  # a blank band, as MNIST's borders: ties in the max-pools
    return model, x, rng.integers(0, 10, batch)


def test_loss_and_every_gradient_equal_the_engines():
    model, x, y = problem()
    loss = nn.functional.cross_entropy(model(ag.Tensor(x)), y)
    loss.backward()

    by_hand_loss, by_hand = analytic.cnn_loss_and_grads(
        {name: p.data for name, p in model.named_parameters()}, x, y
    )

    assert by_hand_loss == pytest.approx(loss.item(), rel=1e-12)
    for name, p in model.named_parameters():
        assert by_hand[name].shape == p.shape and by_hand[name].dtype == p.dtype
        np.testing.assert_allclose(by_hand[name], p.grad.data, rtol=1e-9, atol=1e-15, err_msg=name)


def test_correlate_is_the_sum_over_every_window():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 3, 3))

    out = analytic.correlate(x, w)

    assert out.shape == (2, 4, 3, 4)
    expected = np.einsum("ncuv,ocuv->no", x[:, :, 1:4, 2:5], w)
    np.testing.assert_allclose(out[:, :, 1, 2], expected)


@pytest.mark.parametrize("which", ["weight", "input"])
def test_the_two_gradients_of_a_correlation_are_its_adjoints(which):
    # <dz, correlate(x, w)> is bilinear: its gradients are weight_grad(x, dz) and input_grad(dz, w)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    dz = rng.standard_normal((2, 4, 4, 3))
    direction = rng.standard_normal(w.shape if which == "weight" else x.shape)
    eps = 1e-6

    if which == "weight":
        grad = analytic.weight_grad(x, dz)
        moved = [analytic.correlate(x, w + s * eps * direction) for s in (1, -1)]
    else:
        grad = analytic.input_grad(dz, w)
        moved = [analytic.correlate(x + s * eps * direction, w) for s in (1, -1)]

    numeric = (np.sum(dz * moved[0]) - np.sum(dz * moved[1])) / (2 * eps)
    assert np.sum(grad * direction) == pytest.approx(numeric, rel=1e-7)


def test_max_pool_routes_the_gradient_to_the_first_maximum_and_drops_an_odd_edge():
    h = np.array([[[[1.0, 4.0, 0.0], [4.0, 2.0, 9.0], [9.0, 9.0, 9.0]]]])

    pooled, where = analytic.max_pool(h)
    dh = analytic.max_pool_grad(np.array([[[[5.0]]]]), where, h.shape)

    assert pooled.tolist() == [[[[4.0]]]]
    np.testing.assert_array_equal(dh, [[[[0, 5, 0], [0, 0, 0], [0, 0, 0]]]])
