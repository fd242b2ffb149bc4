"""Reductions over axes: sum, mean, max, min (NumPy's axis and keepdims)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_floating, as_tensor
from autograd.ops.shape import broadcast_to
from autograd.tensor import Tensor

Axis = int | tuple[int, ...] | None


def normalize_axis(axis: Axis, ndim: int) -> tuple[int, ...] | None:
    """`axis` as a tuple of axes in [0, ndim), or None for all of them.

    A 0-d tensor reduces over axis 0 or -1 as NumPy and PyTorch allow: over everything.
    """
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    size = ndim or 1
    for a in axes:
        if not -size <= a < size:
            raise ValueError(f"axis {a} is out of bounds for a tensor of {ndim} dimensions")
    return tuple(a % size for a in axes) if ndim else None


def kept_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """`shape` with the reduced axes (normalized) kept as size 1, as keepdims=True gives."""
    return tuple(1 if axis is None or i in axis else n for i, n in enumerate(shape))


def spread(grad: Tensor, node: Node) -> Tensor:
    """The gradient of a reduction, put back in the reduced axes and broadcast over them."""
    return broadcast_to(grad.reshape(kept_shape(node.x_shape, node.axis)), node.x_shape)


def drop_kept(z: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """A result computed with keepdims=True, shaped as `keepdims` asks."""
    return z if keepdims else np.squeeze(z, axis=axis)


class Sum(Function):
    """z = Σ x over `axis`"""

    formula = "dx = grad, copied back over the summed axes"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        node.x_shape, node.axis = x.shape, normalize_axis(axis, x.ndim)
        return x.sum(axis=node.axis, keepdims=keepdims)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        return spread(grad, node), None, None  # dz/dx = 1 for every summed element


class Mean(Function):
    """z = Σ x / n over `axis`"""

    formula = "dx = grad / n, copied back over the averaged axes"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        node.x_shape, node.axis = x.shape, normalize_axis(axis, x.ndim)
        z = np.asarray(x.mean(axis=node.axis, keepdims=keepdims))
        node.count = x.size // z.size if z.size else 0  # elements averaged into each result
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        return spread(grad, node) / node.count, None, None  # dz/dx = 1/n


class Max(Function):
    """z = max x over `axis`; tied maxima share the gradient equally, and a NaN,
    which is the maximum wherever it appears, takes all of it"""

    formula = "dx = grad · (x == z) / (number of tied maxima)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        return _extremum(node, x, np.max, axis, keepdims)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        return _to_extremum(grad, node), None, None  # dz/dx = 1/k at the k maxima, else 0


class Min(Function):
    """z = min x over `axis`; tied minima share the gradient equally, and a NaN,
    which is the minimum wherever it appears, takes all of it"""

    formula = "dx = grad · (x == z) / (number of tied minima)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        return _extremum(node, x, np.min, axis, keepdims)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        return _to_extremum(grad, node), None, None  # dz/dx = 1/k at the k minima, else 0


def _extremum(node: Node, x: np.ndarray, reduce: Any, axis: Axis, keepdims: bool) -> Any:
    """max or min of x; keeps for backward each element's share of the gradient: 1/k at
    each of the k elements equal to z (the NaNs where z is NaN), 0 elsewhere."""
    node.x_shape, node.axis = x.shape, normalize_axis(axis, x.ndim)
    z = reduce(x, axis=node.axis, keepdims=True)
    hit = (x == z) | (np.isnan(x) & np.isnan(z))
    node.save_for_backward(hit / np.sum(hit, axis=node.axis, keepdims=True).astype(x.dtype))
    return drop_kept(z, node.axis, keepdims)


def _to_extremum(grad: Tensor, node: Node) -> Tensor:
    """The gradient of max or min: spread back and split among the elements `_extremum`
    found equal to z."""
    (share,) = node.saved_tensors
    return spread(grad, node) * share


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum.apply(as_tensor(x), axis, keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Mean.apply(as_floating(x), axis, keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max.apply(as_tensor(x), axis, keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Min.apply(as_tensor(x), axis, keepdims)
