"""Numerics: stable at extreme inputs with no warning, and the documented gradient
at ties and at -inf. Every warning is an error in this module."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = [np.float32, np.float64]


def leaf(values, dtype=np.float64) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ----- logsumexp -----
@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_huge_equal_values_is_value_plus_log_2(dtype):
    x = leaf([1e4, 1e4], dtype)
    y = x.logsumexp()
    assert y.dtype == dtype
    np.testing.assert_allclose(
        y.item(), 1e4 + np.log(2), rtol=1e-7 if dtype == np.float64 else 1e-6
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_gradient_at_huge_values_is_the_finite_softmax(dtype):
    x = leaf([[1e4, 1e4, 1e4 - np.log(2.0)], [-1e4, -1e4, -1e4]], dtype)
    x.logsumexp(axis=1).sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [[0.4, 0.4, 0.2], [1 / 3] * 3], rtol=1e-3)


def test_logsumexp_over_an_all_minus_inf_row_is_minus_inf():
    x = leaf([[-np.inf, -np.inf], [0.0, 0.0]])
    y = x.logsumexp(axis=1)
    assert y.data[0] == -np.inf
    np.testing.assert_allclose(y.data[1], np.log(2))


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    assert ag.logsumexp(leaf([-np.inf, -np.inf, -np.inf])).item() == -np.inf


def test_logsumexp_ignores_minus_inf_entries_and_gives_them_zero_gradient():
    x = leaf([0.0, -np.inf, 0.0])
    y = x.logsumexp()
    np.testing.assert_allclose(y.item(), np.log(2))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 0.5])


def test_logsumexp_of_plus_inf_is_plus_inf():
    assert ag.logsumexp(leaf([np.inf, 0.0])).item() == np.inf


# ----- sigmoid and tanh -----
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_of_huge_inputs_is_zero_and_one_without_warning(dtype):
    x = leaf([-1e4, 1e4], dtype)
    y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_accurate_in_the_ordinary_range(dtype):
    a = np.linspace(-30, 30, 61)
    y = ag.sigmoid(ag.Tensor(a.astype(dtype)))
    np.testing.assert_allclose(
        y.data, 1 / (1 + np.exp(-a)), rtol=1e-6 if dtype == np.float32 else 1e-12
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_of_huge_inputs_is_plus_minus_one_without_warning(dtype):
    x = leaf([-1e4, 1e4], dtype)
    y = x.tanh()
    np.testing.assert_array_equal(y.data, [-1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_second_derivatives_of_sigmoid_and_tanh_at_huge_inputs_are_finite():
    for fn in (ag.sigmoid, ag.tanh):
        x = leaf([-1e4, 1e4])
        (g,) = ag.grad(fn(x).sum(), x, create_graph=True)
        (h,) = ag.grad(g.sum(), x)
        assert np.all(np.isfinite(h.data))


# ----- log -----
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_of_zero_is_minus_inf_without_warning(dtype):
    y = ag.log(ag.Tensor(np.array([0.0, 1.0], dtype=dtype)))
    np.testing.assert_array_equal(y.data, [-np.inf, 0.0])


def test_log_of_zero_with_grad_recorded_is_minus_inf_without_warning():
    x = leaf([0.0, 1.0])
    assert x.log().data[0] == -np.inf


# ----- pow at base zero -----
def test_pow_gradient_with_respect_to_the_exponent_is_zero_at_base_zero():
    # d(0**y)/dy = 0 for y > 0 (0**y is constantly 0 there); not 0 * log(0) = nan
    base = ag.Tensor(np.array([0.0, 2.0]))
    y = leaf([2.0, 3.0])
    (base**y).sum().backward()
    np.testing.assert_allclose(y.grad.data, [0.0, 8.0 * np.log(2.0)])


# ----- ties in max and min share the gradient -----
@pytest.mark.parametrize("name", ["max", "min"])
def test_tied_extremes_share_the_gradient_equally(name):
    sign = 1.0 if name == "max" else -1.0
    x = leaf(sign * np.array([1.0, 3.0, 3.0, 2.0]))
    getattr(x, name)().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("name", ["max", "min"])
def test_tied_extremes_share_the_gradient_equally_along_an_axis(name):
    sign = 1.0 if name == "max" else -1.0
    x = leaf(sign * np.array([[3.0, 3.0, 3.0], [2.0, 5.0, 5.0], [1.0, 0.0, 4.0]]))
    getattr(x, name)(axis=1).sum().backward()
    third = 1 / 3
    np.testing.assert_allclose(
        x.grad.data, [[third, third, third], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    )


@pytest.mark.parametrize("name", ["max", "min"])
def test_tied_extremes_share_the_gradient_over_a_tuple_of_axes_with_keepdims(name):
    x = leaf(np.full((2, 2, 2), 7.0))
    y = getattr(x, name)(axis=(0, 2), keepdims=True)
    assert y.shape == (1, 2, 1)
    y.backward(np.array([[[4.0], [8.0]]]))
    np.testing.assert_allclose(x.grad.data, np.broadcast_to([[[1.0], [2.0]]], (2, 2, 2)))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_ties_between_maximum_minimum_operands_split_the_gradient_in_half(name):
    x, y = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    getattr(ag, name)(x, y).sum().backward()
    x_wins = np.array([0.5, 0.0, 1.0]) if name == "maximum" else np.array([0.5, 1.0, 0.0])
    np.testing.assert_array_equal(x.grad.data, x_wins)
    np.testing.assert_array_equal(y.grad.data, 1 - x_wins)


def test_maximum_of_a_tensor_with_itself_passes_the_whole_gradient():
    x = leaf([1.0, -2.0])
    ag.maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


# ----- kinks: the one-sided choices (as PyTorch makes them) -----
def test_relu_and_abs_have_zero_gradient_at_zero():
    for fn in (ag.relu, ag.abs):
        x = leaf([0.0])
        fn(x).sum().backward()
        assert x.grad.item() == 0.0


def test_clip_passes_the_gradient_at_the_bounds_and_blocks_it_outside():
    x = leaf([-1.0, -0.5, 0.0, 0.5, 1.0])
    x.clip(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 1.0, 0.0])


# ----- 0-d tensors take axis 0 and -1, as in NumPy and PyTorch -----
ZERO_D_REDUCTIONS = {
    "sum": lambda t, axis: t.sum(axis=axis),
    "mean": lambda t, axis: t.mean(axis=axis),
    "max": lambda t, axis: t.max(axis=axis),
    "min": lambda t, axis: t.min(axis=axis, keepdims=True),
    "logsumexp": lambda t, axis: t.logsumexp(axis=axis),
    "softmax": lambda t, axis: ag.softmax(t, axis),
    "log_softmax": lambda t, axis: ag.log_softmax(t, axis),
}
ZERO_D_VALUES = {"softmax": 1.0, "log_softmax": 0.0}
ZERO_D_GRADS = {"softmax": 0.0, "log_softmax": 0.0}


@pytest.mark.parametrize("axis", [0, -1, (0,)])
@pytest.mark.parametrize("name", list(ZERO_D_REDUCTIONS))
def test_a_0d_tensor_reduces_over_axis_0_or_minus_1(name, axis):
    x = leaf(2.5)
    y = ZERO_D_REDUCTIONS[name](x, axis)
    assert y.shape == ()
    assert y.item() == ZERO_D_VALUES.get(name, 2.5)
    y.backward()
    assert x.grad.item() == ZERO_D_GRADS.get(name, 1.0)


def test_a_0d_tensor_refuses_axis_1_naming_the_op():
    with pytest.raises(ValueError, match=r"Sum of shapes \(\): axis 1 is out of bounds"):
        leaf(2.5).sum(axis=1)


def test_logsumexp_over_an_empty_axis_is_minus_inf():
    y = ag.logsumexp(leaf(np.zeros((2, 0))), axis=1)
    np.testing.assert_array_equal(y.data, [-np.inf, -np.inf])


def test_softmax_over_an_empty_axis_is_empty():
    assert ag.softmax(leaf(np.zeros((2, 0)))).shape == (2, 0)


# ----- NaN takes the gradient of max, min, maximum and minimum -----
@pytest.mark.parametrize("name", ["max", "min"])
def test_the_gradient_of_an_extreme_goes_to_the_nan_it_returns(name):
    x = leaf([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    y = getattr(x, name)(axis=1)
    assert np.isnan(y.data[0])
    y.sum().backward()
    expected_row_1 = [0.0, 0.0, 1.0] if name == "max" else [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0, 0.0], expected_row_1])


def test_several_nans_share_the_gradient_of_max_equally():
    x = leaf([np.nan, 1.0, np.nan])
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 0.5])


@pytest.mark.parametrize("fn", [ag.maximum, ag.minimum])
def test_the_gradient_of_an_elementwise_extreme_goes_to_the_nan_operand(fn):
    x, y = leaf([np.nan, 1.0, np.nan]), leaf([1.0, np.nan, np.nan])
    fn(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(y.grad.data, [0.0, 1.0, 0.5])


# ----- pow at base zero and a negative exponent -----
def test_pow_gradient_with_respect_to_a_negative_exponent_at_base_zero_is_minus_inf():
    # 0**y = inf for y < 0, and dz/dy = z·log(0) = inf·(-inf) = -inf, as in PyTorch
    base = ag.Tensor(np.array([0.0, 0.0, 0.0]))
    y = leaf([-1.0, 0.0, 2.0])
    (base**y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [-np.inf, 0.0, 0.0])


def test_pow_second_derivatives_at_base_zero_and_a_positive_exponent_stay_free_of_nan():
    x, y = leaf([0.0, 0.0, 2.0]), leaf([1.0, 2.0, 3.0])
    (dy,) = ag.grad((x**y).sum(), y, create_graph=True)
    dx, dyy = ag.grad(dy.sum(), [x, y])
    assert not np.isnan(dx.data).any() and not np.isnan(dyy.data).any()


# ----- gradients at NaN and -inf, as PyTorch gives them -----
def _torch_grad(op, values):
    """The gradient PyTorch gives op at `values` (float32, upstream ones), or None."""
    try:
        import torch
    except ImportError:
        return None
    t = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    op(t).backward(torch.ones(len(values)))
    return t.grad.numpy()


def _grad(op, values):
    x = leaf(values, np.float32)
    op(x).backward(np.ones(len(values), np.float32))
    return x.grad.data


def test_relu_passes_the_gradient_at_nan_as_pytorch():
    values = [np.nan, -1.0, 2.0, 0.0]

    grad = _grad(lambda t: t.relu(), values)

    np.testing.assert_array_equal(grad, [1, 0, 1, 0])  # relu(NaN) is NaN: it passes, as x > 0
    expected = _torch_grad(lambda t: t.relu(), values)
    if expected is not None:
        np.testing.assert_array_equal(grad, expected)


def test_abs_gradient_at_nan_is_zero_as_pytorch():
    values = [np.nan, -1.0, 2.0, 0.0]

    grad = _grad(lambda t: t.abs(), values)

    np.testing.assert_array_equal(grad, [0, -1, 1, 0])  # sign(NaN) taken as 0, not NaN
    expected = _torch_grad(lambda t: t.abs(), values)
    if expected is not None:
        np.testing.assert_array_equal(grad, expected)


def test_pow_half_gradient_at_minus_inf_is_nan_as_pytorch():
    values = [-np.inf, -4.0, 4.0, np.inf]

    grad = _grad(lambda t: t**0.5, values)

    # (-inf) ** 0.5 has no real value, as (-4) ** 0.5 has none: NaN, not C's pow(-inf, -0.5) = 0
    np.testing.assert_array_equal(grad, [np.nan, np.nan, 0.25, 0])
    expected = _torch_grad(lambda t: t**0.5, values)
    if expected is not None:
        np.testing.assert_array_equal(grad, expected)


def test_pow_with_an_integer_exponent_keeps_its_gradient_at_minus_inf():
    grad = _grad(lambda t: t**2.0, [-np.inf, -4.0])

    np.testing.assert_array_equal(grad, [-np.inf, -8.0])
