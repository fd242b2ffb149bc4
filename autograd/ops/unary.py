"""Elementwise functions of one tensor."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_floating, as_tensor, in_dtype, result_dtype
from autograd.ops.selection import where
from autograd.ops.shape import unbroadcast
from autograd.tensor import Tensor


class Exp(Function):
    """z = exp(x)"""

    formula = "dx = grad · z"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # overflow gives inf, as in NumPy
            z = np.exp(x)
        node.save_for_backward(z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (z,) = node.saved_tensors
        return grad * z  # dz/dx = exp(x) = z


class Log(Function):
    """z = log(x); log(0) is -inf"""

    formula = "dx = grad / x"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        node.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (x,) = node.saved_tensors
        return grad / x  # dz/dx = 1/x


class Sqrt(Function):
    """z = √x"""

    formula = "dx = grad / (2 · z)"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            z = np.sqrt(x)
        node.save_for_backward(z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (z,) = node.saved_tensors
        return grad / (2 * z)  # dz/dx = 1/(2√x)


class Tanh(Function):
    """z = tanh(x)"""

    formula = "dx = grad · (1 - z²)"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        z = np.tanh(x)
        node.save_for_backward(z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (z,) = node.saved_tensors
        return grad * (1 - z * z)  # dz/dx = 1 - tanh²(x)


class Sigmoid(Function):
    """z = 1 / (1 + exp(-x)), computed as exp(-log(1 + exp(-x))) so no exp overflows"""

    formula = "dx = grad · z · (1 - z)"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        z = np.exp(-np.logaddexp(0, -x))
        node.save_for_backward(z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (z,) = node.saved_tensors
        return grad * z * (1 - z)  # dz/dx = σ(x)(1 - σ(x))


class Relu(Function):
    """z = max(x, 0); NaN stays NaN"""

    formula = "dx = grad · (x > 0)"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        z = _maximum_with_zero(x)
        node.save_for_backward(z != 0)  # x > 0, or NaN: where the gradient passes
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (passes,) = node.saved_tensors
        return grad * passes  # dz/dx = 1 where x > 0 (and at NaN, as PyTorch), else 0


ZERO_ROW = 16384  # elements: _maximum_with_zero's row of zeros stays in the L1/L2 cache


def _maximum_with_zero(x: np.ndarray) -> np.ndarray:
    """np.maximum(x, 0), bit for bit, in x's memory order. For a large float array it is
    computed against a row of zeros, rows of x at a time: NumPy's loop for an array and a
    scalar is scalar code, its loop for two arrays is vectorized (2-3x faster here)."""
    if x.dtype.kind != "f" or x.size < ZERO_ROW:
        return np.maximum(x, 0)
    out = np.empty_like(x)
    flat_x, flat_out = x.ravel(order="K"), out.ravel(order="K")  # views, if x is contiguous
    if not np.may_share_memory(flat_x, x):  # x is not contiguous in any order: a copy
        return np.maximum(x, 0)
    rows = x.size // ZERO_ROW
    body = rows * ZERO_ROW
    np.maximum(
        flat_x[:body].reshape(rows, ZERO_ROW),
        np.zeros(ZERO_ROW, x.dtype),
        out=flat_out[:body].reshape(rows, ZERO_ROW),
    )
    np.maximum(flat_x[body:], 0, out=flat_out[body:])
    return out


class Abs(Function):
    """z = |x|"""

    formula = "dx = grad · sign(x)"

    @staticmethod
    def forward(node: Node, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            node.save_for_backward(np.nan_to_num(np.sign(x), nan=0))
        return np.abs(x)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        (sign,) = node.saved_tensors
        return grad * sign  # dz/dx = sign(x), and 0 at NaN (as PyTorch)


class Clip(Function):
    """z = min(max(x, low), high); either bound may be None"""

    formula = "dx = grad · (low ≤ x ≤ high)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, low: Any, high: Any) -> np.ndarray:
        z = np.clip(x, low, high)  # array bounds may broadcast x to a larger shape
        inside = np.ones(z.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        node.x_shape = x.shape
        node.save_for_backward(inside)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        (inside,) = node.saved_tensors
        # dz/dx = 1 between the bounds, else 0
        return unbroadcast(where(inside, grad, 0), node.x_shape), None, None


class Cast(Function):
    """z = x converted to another floating dtype"""

    formula = "dx = grad, in x's dtype"

    @staticmethod
    def forward(node: Node, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        node.x_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        return grad.astype(node.x_dtype), None  # dz/dx = 1, in x's dtype


def astype(x: Any, dtype: Any) -> Tensor:
    """`x` in `dtype`; gradients flow back in x's own dtype."""
    x = as_tensor(x)
    return x if x.dtype == dtype else Cast.apply(x, np.dtype(dtype))


def exp(x: Any) -> Tensor:
    return Exp.apply(as_floating(x))


def log(x: Any) -> Tensor:
    return Log.apply(as_floating(x))


def sqrt(x: Any) -> Tensor:
    return Sqrt.apply(as_floating(x))


def tanh(x: Any) -> Tensor:
    return Tanh.apply(as_floating(x))


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(as_floating(x))


def relu(x: Any) -> Tensor:
    return Relu.apply(as_tensor(x))


def abs(x: Any) -> Tensor:
    return Abs.apply(as_tensor(x))


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; the gradient passes where x lies within the bounds.

    The bounds are constants (numbers or arrays); for bounds that need a gradient,
    use maximum and minimum.
    """
    for name, bound in (("min", min), ("max", max)):
        if isinstance(bound, Tensor) and bound.requires_grad:
            raise TypeError(
                f"clip: {name} requires grad, but clip's bounds are constants; "
                "use ag.maximum / ag.minimum for bounds that need a gradient"
            )
    x = as_tensor(x)
    dtype = result_dtype(x, *[b for b in (min, max) if b is not None])
    low, high = (None if b is None else in_dtype(b, dtype).data for b in (min, max))
    return Clip.apply(in_dtype(x, dtype), low, high)
