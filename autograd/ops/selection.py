"""Choosing between tensors elementwise: where, maximum, minimum."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_tensors
from autograd.ops.shape import unbroadcast
from autograd.tensor import Tensor


class Where(Function):
    """z = x where condition holds, else y"""

    formula = "dx = where(condition, grad, 0), dy = where(condition, 0, grad)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray, condition: np.ndarray) -> np.ndarray:
        node.shapes = x.shape, y.shape
        node.save_for_backward(condition)
        return np.where(condition, x, y)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        x_shape, y_shape = node.shapes
        dx, dy, _ = node.needs_input_grad
        (condition,) = node.saved_tensors
        # the gradient goes to whichever input was chosen
        return (
            unbroadcast(where(condition, grad, 0), x_shape) if dx else None,
            unbroadcast(where(condition, 0, grad), y_shape) if dy else None,
            None,
        )


class Maximum(Function):
    """z = max(x, y) elementwise; a tie sends half the gradient each way, and a NaN
    (which z takes from either side) takes all of it"""

    formula = "dx = grad · (x > y, ½ on ties), dy = grad - dx"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        node.shapes = x.shape, y.shape
        node.save_for_backward(_share(x > y, x, y))
        return np.maximum(x, y)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, Tensor]:
        return _split_between(node, grad)


class Minimum(Function):
    """z = min(x, y) elementwise; a tie sends half the gradient each way, and a NaN
    (which z takes from either side) takes all of it"""

    formula = "dx = grad · (x < y, ½ on ties), dy = grad - dx"

    @staticmethod
    def forward(node: Node, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        node.shapes = x.shape, y.shape
        node.save_for_backward(_share(x < y, x, y))
        return np.minimum(x, y)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, Tensor]:
        return _split_between(node, grad)


def _share(x_better: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dz/dx of max/min: 1 where x is chosen (or is NaN), 1/2 on ties (or where both are
    NaN), else 0; dz/dy is the rest."""
    x_nan, y_nan = np.isnan(x), np.isnan(y)
    share = np.array(x_better | x_nan, dtype=np.float32)  # an array even for 0-d operands
    share[(x == y) | (x_nan & y_nan)] = 0.5
    return share


def _split_between(node: Node, grad: Tensor) -> tuple[Tensor, Tensor]:
    """The VJP of max/min: x gets its share of the gradient, y the rest."""
    x_shape, y_shape = node.shapes
    (share,) = node.saved_tensors
    share = share.astype(grad.dtype)
    return unbroadcast(grad * share, x_shape), unbroadcast(grad * (1 - share), y_shape)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elements of `x` where `condition` is true, else of `y` (broadcast together)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be boolean, got {condition.dtype}")
    x, y = as_tensors(x, y)
    return Where.apply(x, y, condition)


def maximum(x: Any, y: Any) -> Tensor:
    return Maximum.apply(*as_tensors(x, y))


def minimum(x: Any, y: Any) -> Tensor:
    return Minimum.apply(*as_tensors(x, y))
