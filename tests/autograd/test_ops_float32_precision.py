"""logsumexp, softmax, log_softmax and the fused cross-entropy, computed in float32,
agree with a float64 reference to float32 precision at every magnitude of the logits:
values and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn

pytestmark = pytest.mark.filterwarnings("error")

EPS32 = float(np.finfo(np.float32).eps)
# (offset, spread) of the logits: offset + spread·N(0, 1), in float32
MAGNITUDES = [(0, 1), (0, 30), (1e4, 1), (-1e4, 1), (1e6, 10), (3e37, 1e37), (-3e37, 1e37)]


def logits(offset: float, spread: float, shape=(6, 7)) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (offset + spread * rng.standard_normal(shape)).astype(np.float32)


def reference_log_softmax(x: np.ndarray) -> np.ndarray:
    """In float64, from the float32 logits: exact to far below float32's resolution."""
    x = x.astype(np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def assert_float32_close(got: ag.Tensor, expected: np.ndarray, scale: float = 1.0) -> None:
    """Within a few float32 roundings of each value (and of `scale` near zero)."""
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.data, expected, rtol=8 * EPS32, atol=8 * EPS32 * scale)


def vjp(fn, x: np.ndarray, v: np.ndarray) -> ag.Tensor:
    t = ag.Tensor(x, requires_grad=True)
    (fn(t) * ag.Tensor(v)).sum().backward()
    return t.grad


@pytest.mark.parametrize("offset, spread", MAGNITUDES)
def test_log_softmax_values_and_gradients(offset, spread):
    x = logits(offset, spread)
    expected = reference_log_softmax(x)
    assert_float32_close(ag.log_softmax(ag.Tensor(x)), expected)
    v = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    # d(Σ v·log_softmax)/dx = v - softmax·Σv
    expected_grad = v - np.exp(expected) * v.astype(np.float64).sum(axis=-1, keepdims=True)
    assert_float32_close(vjp(ag.log_softmax, x, v), expected_grad, scale=np.abs(v).sum())


@pytest.mark.parametrize("offset, spread", MAGNITUDES)
def test_softmax_values_and_gradients(offset, spread):
    x = logits(offset, spread)
    p = np.exp(reference_log_softmax(x))
    assert_float32_close(ag.softmax(ag.Tensor(x)), p)
    v = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    expected_grad = p * (v - (v * p).sum(axis=-1, keepdims=True))
    assert_float32_close(vjp(ag.softmax, x, v), expected_grad, scale=np.abs(v).max())


@pytest.mark.parametrize("offset, spread", MAGNITUDES)
def test_logsumexp_values_and_gradients(offset, spread):
    x = logits(offset, spread)
    wide = x.astype(np.float64)
    expected = wide.max(axis=-1) + np.log(np.exp(wide - wide.max(axis=-1, keepdims=True)).sum(-1))
    assert_float32_close(ag.logsumexp(ag.Tensor(x), axis=-1), expected)
    v = np.random.default_rng(1).standard_normal(x.shape[:-1]).astype(np.float32)
    expected_grad = np.exp(reference_log_softmax(x)) * v[:, None]
    got = vjp(lambda t: t.logsumexp(axis=-1), x, v)
    assert_float32_close(got, expected_grad, scale=np.abs(v).max())


@pytest.mark.parametrize("offset, spread", MAGNITUDES)
def test_cross_entropy_values_and_gradients(offset, spread):
    x = logits(offset, spread)
    target = np.arange(len(x)) % x.shape[1]
    log_p = reference_log_softmax(x)
    t = ag.Tensor(x, requires_grad=True)
    loss = nn.functional.cross_entropy(t, target)
    assert_float32_close(loss, -log_p[np.arange(len(x)), target].mean())
    loss.backward()
    one_hot = np.eye(x.shape[1])[target]
    assert_float32_close(t.grad, (np.exp(log_p) - one_hot) / len(x), scale=1 / len(x))


def test_log_softmax_of_the_largest_float32_values_keeps_their_log_probabilities():
    y = ag.log_softmax(ag.tensor([3e38, 3e38, 0.0]))
    np.testing.assert_allclose(y.data, [-np.log(2), -np.log(2), -3e38], rtol=1e-6)


def test_log_softmax_second_derivatives_match_finite_differences():
    x = ag.Tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    assert ag.gradgradcheck(lambda t: ag.log_softmax(t, axis=0), [x])
    assert ag.gradgradcheck(lambda t: ag.softmax(t, axis=1), [x])
    assert ag.gradgradcheck(lambda t: t.logsumexp(axis=(0, 1)), [x])
