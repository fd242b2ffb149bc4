"""Saved values are tied to the input they were passed as, by position: a detached
operand, an input saved twice, or two inputs sharing memory never take each other's
place, so second derivatives are right."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
from autograd.functional import hessian


def f64(values) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_a_detached_operand_is_a_constant_for_the_second_derivative():
    x = f64([1.0, 2.0, 3.0])
    h = hessian(lambda x: (x * x.detach()).sum(), x)
    np.testing.assert_array_equal(h.data, np.zeros((3, 3)))


def test_a_detached_operand_still_gives_the_first_derivative():
    x = f64([1.0, 2.0, 3.0])
    (x * x.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 3.0])


def test_the_first_derivative_through_a_detached_operand_has_no_graph():
    x = f64([1.0, 2.0])
    (g,) = ag.grad((x * x.detach()).sum(), x, create_graph=True)
    assert not g.requires_grad


def test_the_same_tensor_twice_still_differentiates_through_both():
    x = f64([1.0, 2.0, 3.0])
    h = hessian(lambda x: (x * x).sum(), x)
    np.testing.assert_array_equal(h.data, 2 * np.eye(3))


class SquareBySavingTwice(ag.Function):
    """z = x * x, saving x twice."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x, x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * a + grad * b


class Product(ag.Function):
    """z = x * y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * x


def test_a_custom_function_saving_an_input_twice_has_the_right_hessian():
    x = f64([1.0, -2.0])
    h = hessian(lambda x: SquareBySavingTwice.apply(x).sum(), x)
    np.testing.assert_array_equal(h.data, 2 * np.eye(2))


def test_two_inputs_sharing_one_array_keep_their_own_gradients():
    x = f64([1.0, -2.0])
    y = ag.Tensor(x.data, requires_grad=True)  # another tensor over the same array object
    (gx, gy) = ag.grad(Product.apply(x, y).sum(), (x, y), create_graph=True)
    np.testing.assert_array_equal(gx.data, y.data)
    (dgx_dy,) = ag.grad(gx.sum(), y)
    np.testing.assert_array_equal(dgx_dy.data, [1.0, 1.0])  # d(y)/dy, not d(y)/dx


def test_two_inputs_that_are_views_of_one_memory_keep_their_own_gradients():
    base = np.array([1.0, -2.0, 3.0])
    x = ag.Tensor(base[:2], requires_grad=True)
    y = ag.Tensor(base[1:], requires_grad=True)  # overlaps x in memory
    (gx, gy) = ag.grad(Product.apply(x, y).sum(), (x, y), create_graph=True)
    (dgx_dx, dgx_dy) = ag.grad(gx.sum(), (x, y))
    np.testing.assert_array_equal(dgx_dx.data, [0.0, 0.0])
    np.testing.assert_array_equal(dgx_dy.data, [1.0, 1.0])


def test_the_hessian_of_a_detached_product_matches_pytorch():
    torch = pytest.importorskip("torch")
    values = np.array([0.5, -1.5, 2.0])
    x = torch.tensor(values, requires_grad=True)
    expected = torch.autograd.functional.hessian(lambda x: (x * x.detach()).sum(), x)
    h = hessian(lambda x: (x * x.detach()).sum(), f64(values))
    np.testing.assert_array_equal(h.data, expected.numpy())
