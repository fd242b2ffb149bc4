"""Reductions over axes: sum, mean, max, min, logsumexp (NumPy's axis and keepdims)."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Context, Function
from autograd.ops.operands import as_floating, as_tensor
from autograd.ops.shape import broadcast_to
from autograd.tensor import Tensor

Axis = int | tuple[int, ...] | None


def _kept_shape(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """`shape` with the reduced axes kept as size 1 (what keepdims=True gives)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(grad: Tensor, ctx: Context) -> Tensor:
    """The gradient of a reduction, put back in the reduced axes and broadcast over them."""
    return broadcast_to(grad.reshape(_kept_shape(ctx.x_shape, ctx.axis)), ctx.x_shape)


class Sum(Function):
    """z = Σ x over `axis`"""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        ctx.x_shape, ctx.axis = x.shape, axis
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        return _spread(grad, ctx), None, None  # dz/dx = 1 for every summed element


class Mean(Function):
    """z = Σ x / n over `axis`"""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        ctx.x_shape, ctx.axis = x.shape, axis
        z = np.asarray(x.mean(axis=axis, keepdims=keepdims))
        ctx.count = x.size // z.size if z.size else 0  # elements averaged into each result
        return z

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        return _spread(grad, ctx) / ctx.count, None, None  # dz/dx = 1/n


class Max(Function):
    """z = max x over `axis`; tied maxima share the gradient equally"""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        return _extremum(ctx, x, np.max, axis, keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        (share,) = ctx.saved_tensors
        return _spread(grad, ctx) * share, None, None


class Min(Max):
    """z = min x over `axis`; tied minima share the gradient equally (backward as Max)"""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        return _extremum(ctx, x, np.min, axis, keepdims)


def _extremum(ctx: Context, x: np.ndarray, reduce: Any, axis: Axis, keepdims: bool) -> Any:
    """max or min of x; keeps for backward dz/dx: 1/k at each of the k elements equal to z."""
    ctx.x_shape, ctx.axis = x.shape, axis
    z = reduce(x, axis=axis, keepdims=True)
    hit = x == z
    ctx.save_for_backward(hit / np.sum(hit, axis=axis, keepdims=True).astype(x.dtype))
    return _drop_kept(z, axis, keepdims)


def _drop_kept(z: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
    """A result computed with keepdims=True, shaped as `keepdims` asks."""
    return z if keepdims else np.squeeze(z, axis=axis)


class LogSumExp(Function):
    """z = log Σ exp(x) over `axis`, computed as m + log Σ exp(x - m) with m = max x"""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        ctx.x_shape, ctx.axis = x.shape, axis
        m = np.array(np.max(x, axis=axis, keepdims=True))  # an array even for 0-d x
        m[~np.isfinite(m)] = 0  # all -inf (or inf) along an axis: nothing to subtract
        with np.errstate(divide="ignore"):
            z = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        z = _drop_kept(z, axis, keepdims)
        ctx.save_for_backward(x, z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Tensor) -> tuple[Tensor, None, None]:
        x, z = ctx.saved_tensors
        z = z.reshape(_kept_shape(ctx.x_shape, ctx.axis))
        return _spread(grad, ctx) * (x - z).exp(), None, None  # dz/dx = softmax(x)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum.apply(as_tensor(x), axis, keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Mean.apply(as_floating(x), axis, keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max.apply(as_tensor(x), axis, keepdims)


def min(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Min.apply(as_tensor(x), axis, keepdims)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return LogSumExp.apply(as_floating(x), axis, keepdims)
