"""User-defined ag.Function subclasses, and gradcheck catching wrong ones."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autograd as ag


class Cube(ag.Function):
    """z = x³"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2  # dz/dx = 3x²


class WrongCube(ag.Function):
    """z = x³ with a deliberately wrong derivative (2x² instead of 3x²)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x**2


class WrongShape(ag.Function):
    """z = 2x whose backward returns a gradient with an extra axis"""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return (grad * 2).reshape(1, -1)


class ScaledSum(ag.Function):
    """z = Σ a·x + b, two tensor inputs, a keyword option and ctx attributes"""

    @staticmethod
    def forward(ctx, x, b, scale=1.0):
        ctx.scale = scale
        ctx.x_shape = x.shape
        return np.asarray(scale * x.sum() + b)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale * ag.Tensor(np.ones(ctx.x_shape)), grad


def leaf(values) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_custom_function_gives_the_gradient_of_its_backward():
    x = leaf([1.0, -2.0, 0.5])
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)


def test_custom_function_passes_gradcheck_and_gradgradcheck():
    x = leaf(np.random.default_rng(0).uniform(-2, 2, (2, 3)))
    assert ag.gradcheck(Cube.apply, [x])
    assert ag.gradgradcheck(Cube.apply, [x])


def test_custom_function_second_derivative_is_six_x():
    x = leaf([0.5, -1.5])
    (d1,) = ag.grad(Cube.apply(x).sum(), x, create_graph=True)
    (d2,) = ag.grad(d1.sum(), x)
    np.testing.assert_allclose(d2.data, 6 * x.data)


def test_custom_function_with_several_inputs_and_options_passes_gradcheck():
    x, b = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf(0.5)
    out = ScaledSum.apply(x, b, scale=3.0)
    assert out.item() == pytest.approx(30.5)
    assert ag.gradcheck(lambda x, b: ScaledSum.apply(x, b, scale=3.0), [x, b])


def test_custom_function_composes_with_built_in_ops():
    x = leaf([0.3, 0.7])
    assert ag.gradcheck(lambda t: Cube.apply(t.tanh() * 2.0).sum().exp(), [x])


def test_custom_function_under_no_grad_records_nothing():
    x = leaf([1.0])
    with ag.no_grad():
        y = Cube.apply(x)
    assert not y.requires_grad


def test_gradcheck_of_a_wrong_backward_raises_naming_input_element_and_both_values():
    x = leaf([1.0, 2.0])
    with pytest.raises(ag.GradcheckError) as error:
        ag.gradcheck(WrongCube.apply, [x])
    message = str(error.value)
    assert "input 0" in message
    assert "(0,)" in message  # the element
    assert "numerical" in message and "analytical" in message
    # both values, as numbers: the analytic one is 2/3 of the true (numerical) one
    numerical, analytical = (
        float(re.search(rf"{word}\s+(-?[0-9.eE+-]+)", message).group(1).rstrip(","))
        for word in ("numerical", "analytical")
    )
    assert analytical == pytest.approx(2 / 3 * numerical, rel=1e-4)


def test_gradcheck_names_the_input_that_is_wrong():
    class WrongSecond(ag.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            return grad * y, grad * x * 1.5

    with pytest.raises(ag.GradcheckError, match="input 1"):
        ag.gradcheck(WrongSecond.apply, [leaf([1.0, 2.0]), leaf([3.0, 4.0])])


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    class DetachedCube(ag.Function):
        """The first derivative is right, but computed on constants: second derivative 0."""

        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return x**3

        @staticmethod
        def backward(ctx, grad):
            return grad * 3 * ag.Tensor(ctx.x) ** 2

    x = leaf([1.0, 2.0])
    assert ag.gradcheck(DetachedCube.apply, [x])
    with pytest.raises(ag.GradcheckError, match="second derivative"):
        ag.gradgradcheck(DetachedCube.apply, [x])


def test_gradcheck_returns_true_and_checks_in_float64_for_float32_inputs():
    x = ag.tensor([0.25, 0.5], requires_grad=True)
    assert x.dtype == np.float32
    assert ag.gradcheck(lambda t: (t * t).exp(), [x]) is True
    assert x.dtype == np.float32  # the caller's tensor is untouched


def test_gradcheck_without_an_input_requiring_grad_raises():
    with pytest.raises(ValueError):
        ag.gradcheck(lambda t: t * 2.0, [ag.Tensor(np.ones(2))])


def test_backward_returning_a_gradient_of_the_wrong_shape_raises_naming_the_function():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError) as error:
        WrongShape.apply(x).sum().backward()
    message = str(error.value)
    assert "WrongShape" in message
    assert "(1, 3)" in message and "(3,)" in message


def test_backward_returning_the_wrong_number_of_gradients_raises_naming_the_function():
    class TooMany(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError, match="TooMany"):
        TooMany.apply(leaf([1.0])).sum().backward()


class SinSavingItsDerivative(ag.Function):
    """z = sin(x), saving cos(x): neither an input nor the output."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.cos(x))
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (cos_x,) = ctx.saved_tensors
        return grad * cos_x


def test_a_saved_value_other_than_an_input_or_the_output_is_a_constant_for_double_backward():
    x = ag.Tensor(np.array([0.3, 1.2]), requires_grad=True)
    (g,) = ag.grad(SinSavingItsDerivative.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, np.cos(x.data))
    assert not g.requires_grad  # cos(x) was saved as a constant: no graph back to x
