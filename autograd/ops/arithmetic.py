"""Arithmetic: + - * / ** @ and negation, with NumPy broadcasting."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_floating, as_tensor, as_tensors
from autograd.ops.selection import where
from autograd.ops.shape import unbroadcast
from autograd.tensor import Tensor


class Add(Function):
    """z = x + y"""

    formula = "dx = grad, dy = grad (each summed back to its input's shape)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, Tensor]:
        x_shape, y_shape = node.input_shapes
        return unbroadcast(grad, x_shape), unbroadcast(grad, y_shape)


class Sub(Function):
    """z = x - y"""

    formula = "dx = grad, dy = -grad (each summed back to its input's shape)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x - y

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, Tensor]:
        x_shape, y_shape = node.input_shapes
        return unbroadcast(grad, x_shape), unbroadcast(-grad, y_shape)


class Mul(Function):
    """z = x * y"""

    formula = "dx = grad · y, dy = grad · x"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        node.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, y = node.saved_tensors
        dx, dy = node.needs_input_grad
        # dz/dx = y, dz/dy = x
        return (
            unbroadcast(grad * y, x.shape) if dx else None,
            unbroadcast(grad * x, y.shape) if dy else None,
        )


class Div(Function):
    """z = x / y"""

    formula = "dx = grad / y, dy = -grad · z / y"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = x / y
        node.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, y, z = node.saved_tensors
        dx, dy = node.needs_input_grad
        # dz/dx = 1/y, dz/dy = -x/y² = -z/y
        return (
            unbroadcast(grad / y, x.shape) if dx else None,
            unbroadcast(-grad * z / y, y.shape) if dy else None,
        )


class Pow(Function):
    """z = x ** y"""

    formula = "dx = grad · y · x^(y-1), dy = grad · z · log(x)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 is inf, as in NumPy
            z = x**y
        node.save_for_backward(x, y, z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, y, z = node.saved_tensors
        dx, dy = node.needs_input_grad
        # dz/dx = y·x^(y-1), taken as 0 at x = y = 0 (0·inf otherwise), and NaN at x = -inf
        # for a fractional y, as at any negative x (C's pow gives (-inf)^-0.5 = 0; PyTorch NaN);
        # dz/dy = z·log(x), taken at x = 0 as 0 for y >= 0 and as -inf (inf·log 0) for y < 0.
        # Where a case is set by hand, the operands are replaced (x by 1, z by 0) so that
        # no inf or nan enters the graph of the gradient.
        origin = (x.data == 0) & (y.data == 0)
        zero_base = x.data == 0
        no_real_power = np.isneginf(x.data) & (y.data % 1 != 0)
        dz_dx = where(origin | no_real_power, 0, y * where(origin, 1, x) ** (y - 1))
        dz_dy = where(zero_base, 0, z) * where(zero_base, 1, x).log()
        return (
            unbroadcast(grad * where(no_real_power, np.nan, dz_dx), x.shape) if dx else None,
            unbroadcast(grad * where(zero_base & (y.data < 0), -np.inf, dz_dy), y.shape)
            if dy
            else None,
        )


class Neg(Function):
    """z = -x"""

    formula = "dx = -grad"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        return -grad


class MatMul(Function):
    """z = x @ y, for 1-D, 2-D and batched operands as np.matmul."""

    formula = "dx = grad @ yᵀ, dy = xᵀ @ grad"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        node.save_for_backward(x, y)
        return x @ y

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, y = node.saved_tensors
        dx, dy = node.needs_input_grad
        # A 1-D x is a row (1, k), a 1-D y a column (k, 1); the grad gets those axes back.
        x2 = x if x.ndim > 1 else x.reshape(1, -1)
        y2 = y if y.ndim > 1 else y.reshape(-1, 1)
        batch = np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2])
        g2 = grad.reshape(batch + (x2.shape[-2], y2.shape[-1]))
        # dz/dx = grad @ yᵀ, dz/dy = xᵀ @ grad, summed over broadcast batch axes
        return (
            unbroadcast(_product_like(x2, g2, _swap_last(y2)), x2.shape).reshape(x.shape)
            if dx
            else None,
            unbroadcast(_product_like(y2, _swap_last(x2), g2), y2.shape).reshape(y.shape)
            if dy
            else None,
        )


def _product_like(like: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """a @ b in the memory layout of `like`: for a transposed view (a weight used as
    W.T) it is computed as (bᵀ @ aᵀ)ᵀ, so W's gradient comes back in W's own order
    and the optimizer's passes over it run along memory, not across it."""
    if like.ndim == 2 and like.data.flags.f_contiguous and not like.data.flags.c_contiguous:
        return _swap_last(_swap_last(b) @ _swap_last(a))
    return a @ b


def _swap_last(t: Tensor) -> Tensor:
    """The matrix transpose of the last two axes (a view, no copy)."""
    axes = list(range(t.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return t.transpose(axes)


def add(x: Any, y: Any) -> Tensor:
    return Add.apply(*as_tensors(x, y))


def sub(x: Any, y: Any) -> Tensor:
    return Sub.apply(*as_tensors(x, y))


def mul(x: Any, y: Any) -> Tensor:
    return Mul.apply(*as_tensors(x, y))


def div(x: Any, y: Any) -> Tensor:
    x, y = as_tensors(x, y)
    if x.dtype.kind != "f":  # true division: integers give float32, as in PyTorch
        x, y = as_floating(x), as_floating(y)
    return Div.apply(x, y)


def pow(x: Any, y: Any) -> Tensor:
    return Pow.apply(*as_tensors(x, y))


def neg(x: Any) -> Tensor:
    return Neg.apply(as_tensor(x))


def matmul(x: Any, y: Any) -> Tensor:
    return MatMul.apply(*as_tensors(x, y))
