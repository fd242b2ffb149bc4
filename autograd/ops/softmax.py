"""log-sum-exp, softmax and log-softmax along an axis, all computed one stable way.

With m = max x along the axis (taken as 0 where it is not finite),

    logsumexp(x)   = m + log Σ exp(x - m)
    log_softmax(x) = (x - m) - log Σ exp(x - m)
    softmax(x)     = exp(x - m) / Σ exp(x - m)

Every exp(x - m) lies in [0, 1], so nothing overflows, and log_softmax never
subtracts two large, nearly equal numbers: x - logsumexp(x) loses float32
precision as |x| grows (about 2e-4 at |x| = 1e4, everything at 3e38).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_floating
from autograd.ops.reductions import Axis, drop_kept, normalize_axis, spread
from autograd.tensor import Tensor


def stable_parts(x: np.ndarray, axis: Axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m, exp(x - m), Σ exp(x - m)) along `axis`, with m and the sum kept as size-1 axes.

    An empty axis gives a sum of 0 (so logsumexp is -inf); a row of -inf gives m = 0.
    """
    m = x.max(axis=axis, keepdims=True, initial=-np.inf)
    finite = np.isfinite(m)
    if not finite.all():  # all -inf (or inf, or nan) along the axis: nothing to subtract
        m = np.where(finite, m, 0)
    with np.errstate(over="ignore"):  # 3e38 - (-3e38) is -inf in float32, and exp(-inf) = 0
        e = np.exp(x - m)
    return m, e, e.sum(axis=axis, keepdims=True)


class LogSumExp(Function):
    """z = log Σ exp(x) over `axis`"""

    formula = "dx = grad · softmax(x)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis, keepdims: bool) -> np.ndarray:
        node.x_shape, node.axis = x.shape, normalize_axis(axis, x.ndim)
        m, _, total = stable_parts(x, node.axis)
        with np.errstate(divide="ignore"):  # an empty axis: log 0 = -inf
            z = np.log(total) + m
        node.save_for_backward(x)
        return drop_kept(z, node.axis, keepdims)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        (x,) = node.saved_tensors
        return spread(grad, node) * softmax(x, node.axis), None, None  # dz/dx = softmax(x)


class Softmax(Function):
    """s = exp(x) / Σ exp(x) along `axis`"""

    formula = "dx = s · (grad - Σ grad · s)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis) -> np.ndarray:
        node.axis = normalize_axis(axis, x.ndim)
        _, e, total = stable_parts(x, node.axis)
        s = e / total
        node.save_for_backward(s)
        return s

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        (s,) = node.saved_tensors
        return softmax_vjp(s, grad, node.axis), None


def softmax_vjp(s: Tensor, grad: Tensor, axis: Axis) -> Tensor:
    """grad times the Jacobian of s = softmax(x) along `axis`."""
    # ds_i/dx_j = s_i (δ_ij - s_j), so the VJP is s · (grad - Σ grad·s)
    return s * (grad - (grad * s).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """z = x - logsumexp(x) along `axis`, computed as (x - m) - log Σ exp(x - m)"""

    formula = "dx = grad - exp(z) · Σ grad"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axis: Axis) -> np.ndarray:
        node.axis = normalize_axis(axis, x.ndim)
        m, _, total = stable_parts(x, node.axis)
        with np.errstate(divide="ignore", over="ignore"):
            z = (x - m) - np.log(total)
        node.save_for_backward(z)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        (z,) = node.saved_tensors
        # dz_i/dx_j = δ_ij - softmax_j, and softmax = exp(z)
        return grad - z.exp() * grad.sum(axis=node.axis, keepdims=True), None


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return LogSumExp.apply(as_floating(x), axis, keepdims)


def softmax(x: Any, axis: Axis = -1) -> Tensor:
    return Softmax.apply(as_floating(x), axis)


def log_softmax(x: Any, axis: Axis = -1) -> Tensor:
    return LogSoftmax.apply(as_floating(x), axis)
