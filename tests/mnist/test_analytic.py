import numpy as np
import pytest

from mnist.analytic import loss_and_grads

NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")


def make_problem(inputs: int, hidden: int = 5, batch: int = 4, classes: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {
        "0.weight": rng.normal(0, 0.5, (hidden, inputs)),
        "0.bias": rng.normal(0, 0.5, hidden),
        "2.weight": rng.normal(0, 0.5, (classes, hidden)),
        "2.bias": rng.normal(0, 0.5, classes),
    }
    x = rng.normal(0, 1, (batch, inputs))
    y = rng.integers(0, classes, batch)
    return params, x, y


def finite_difference(params, x, y, name, eps=1e-6):
    grad = np.zeros_like(params[name])
    for index in np.ndindex(grad.shape):
        original = params[name][index]
        params[name][index] = original + eps
        plus, _ = loss_and_grads(params, x, y)
        params[name][index] = original - eps
        minus, _ = loss_and_grads(params, x, y)
        params[name][index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def test_loss_equals_direct_cross_entropy():
    params, x, y = make_problem(inputs=784)
    h = np.maximum(x @ params["0.weight"].T + params["0.bias"], 0)
    logits = h @ params["2.weight"].T + params["2.bias"]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean([np.log(probs[i, y[i]]) for i in range(len(y))])

    loss, _ = loss_and_grads(params, x, y)

    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("inputs", [784, 3])
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_finite_differences(name, inputs):
    params, x, y = make_problem(inputs=inputs)
    _, grads = loss_and_grads(params, x, y)
    np.testing.assert_allclose(
        grads[name], finite_difference(params, x, y, name), rtol=1e-5, atol=1e-8
    )


def test_gradients_have_parameter_shapes_and_dtypes():
    params, x, y = make_problem(inputs=784)
    params = {name: value.astype(np.float32) for name, value in params.items()}
    loss, grads = loss_and_grads(params, x, y)
    assert isinstance(loss, float)
    for name in NAMES:
        assert grads[name].shape == params[name].shape
        assert grads[name].dtype == np.float32


def test_large_logits_give_finite_loss_and_gradients():
    params, x, y = make_problem(inputs=784)
    params["2.weight"] *= 1e4
    loss, grads = loss_and_grads(params, x, y)
    assert np.isfinite(loss)
    assert all(np.isfinite(grad).all() for grad in grads.values())
