"""Every op computes what NumPy computes, and gives a Tensor of NumPy's shape."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag

CHECK = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def assert_same(result: ag.Tensor, expected: np.ndarray) -> None:
    assert isinstance(result, ag.Tensor)
    assert result.shape == np.shape(expected)
    np.testing.assert_allclose(result.data, expected, rtol=1e-12, atol=1e-12)


UNARY = {
    "neg": (lambda t: -t, np.negative, False),
    "exp": (ag.exp, np.exp, False),
    "log": (ag.log, np.log, True),
    "sqrt": (ag.sqrt, np.sqrt, True),
    "tanh": (ag.tanh, np.tanh, False),
    "sigmoid": (ag.sigmoid, lambda a: 1 / (1 + np.exp(-a)), False),
    "relu": (ag.relu, lambda a: np.maximum(a, 0), False),
    "abs": (ag.abs, np.abs, False),
}


@pytest.mark.parametrize("name", list(UNARY))
@CHECK
@given(shape=shapes, seed=seeds)
def test_unary_op_matches_numpy(name, shape, seed):
    fn, reference, positive = UNARY[name]
    a = np.random.default_rng(seed).uniform(0.5 if positive else -3, 3, shape)
    assert_same(fn(ag.Tensor(a)), reference(a))


BINARY = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "div": (lambda x, y: x / y, np.divide),
    "pow": (lambda x, y: x**y, np.power),
    "maximum": (ag.maximum, np.maximum),
    "minimum": (ag.minimum, np.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@CHECK
@given(shapes=pairs, seed=seeds)
def test_binary_op_broadcasts_like_numpy(name, shapes, seed):
    fn, reference = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2, s) for s in shapes.input_shapes)
    assert_same(fn(ag.Tensor(a), ag.Tensor(b)), reference(a, b))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min"])
@CHECK
@given(data=st.data(), shape=shapes, keepdims=st.booleans(), seed=seeds)
def test_reduction_matches_numpy_for_any_axis_and_keepdims(name, data, shape, keepdims, seed):
    axis = data.draw(st.none() | hnp.valid_tuple_axes(len(shape)) | _int_axis(len(shape)))
    a = np.random.default_rng(seed).standard_normal(shape)
    result = getattr(ag.Tensor(a), name)(axis=axis, keepdims=keepdims)
    assert_same(result, getattr(np, name)(a, axis=axis, keepdims=keepdims))


def _int_axis(ndim: int) -> st.SearchStrategy:
    return st.integers(-ndim, ndim - 1) if ndim else st.nothing()


@CHECK
@given(data=st.data(), shape=shapes, keepdims=st.booleans(), seed=seeds)
def test_logsumexp_matches_log_of_sum_of_exp(data, shape, keepdims, seed):
    axis = data.draw(st.none() | hnp.valid_tuple_axes(len(shape)) | _int_axis(len(shape)))
    a = np.random.default_rng(seed).standard_normal(shape)
    result = ag.logsumexp(ag.Tensor(a), axis=axis, keepdims=keepdims)
    assert_same(result, np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)))


@pytest.mark.parametrize(
    "x_shape, y_shape",
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 1, 2, 3), (4, 3, 2))],
)
def test_matmul_matches_numpy_for_1d_2d_and_batched_operands(x_shape, y_shape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(x_shape), rng.standard_normal(y_shape)
    assert_same(ag.Tensor(a) @ ag.Tensor(b), a @ b)
    assert_same(ag.matmul(a, ag.Tensor(b)), a @ b)


@CHECK
@given(data=st.data(), shape=shapes, seed=seeds)
def test_basic_indexing_matches_numpy(data, shape, seed):
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    a = np.random.default_rng(seed).standard_normal(shape)
    assert_same(ag.Tensor(a)[index], a[index])


def test_advanced_indexing_matches_numpy():
    a = np.arange(12.0).reshape(3, 4)
    t = ag.Tensor(a)
    assert_same(t[[2, 0, 2]], a[[2, 0, 2]])
    assert_same(t[np.array([1, 1]), np.array([0, 3])], a[[1, 1], [0, 3]])
    assert_same(t[a > 4], a[a > 4])
    assert_same(t[ag.Tensor(a > 4)], a[a > 4])
    assert_same(t[np.array([True, False, True])], a[[0, 2]])


def test_shape_ops_match_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = ag.Tensor(a)
    assert_same(t.reshape(4, 6), a.reshape(4, 6))
    assert_same(t.reshape((-1, 2)), a.reshape(-1, 2))
    assert_same(t.transpose(), a.transpose())
    assert_same(t.transpose(1, 2, 0), a.transpose(1, 2, 0))
    assert_same(t.transpose((-1, 0, 1)), a.transpose(2, 0, 1))
    assert_same(t.T, a.T)
    assert_same(
        ag.broadcast_to(ag.Tensor(a[0, :, :1]), (2, 3, 4)), np.broadcast_to(a[0, :, :1], (2, 3, 4))
    )
    assert_same(ag.concatenate([t, t[:, :1]], axis=1), np.concatenate([a, a[:, :1]], axis=1))
    assert_same(ag.stack([t, t], axis=-1), np.stack([a, a], axis=-1))


def test_where_and_clip_match_numpy():
    a = np.linspace(-2, 2, 12).reshape(3, 4)
    t = ag.Tensor(a)
    assert_same(ag.where(a > 0, t, -t), np.where(a > 0, a, -a))
    assert_same(ag.where(ag.Tensor(a > 0), t, 0.0), np.where(a > 0, a, 0.0))
    assert_same(ag.clip(t, -0.5, 0.5), np.clip(a, -0.5, 0.5))
    assert_same(t.clip(min=0.0), np.clip(a, 0.0, None))
    assert_same(t.clip(max=0.0), np.clip(a, None, 0.0))


def test_where_requires_a_boolean_condition():
    t = ag.Tensor(np.ones(3))
    with pytest.raises(TypeError, match="boolean"):
        ag.where(np.array([1, 0, 1]), t, t)
