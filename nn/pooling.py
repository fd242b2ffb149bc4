"""Pooling: the maximum or the mean of every window, and their VJPs.

For x (N, C, H, W), a (kh, kw) window, stride s (the window's size unless given)
and padding p (at most half the window; see nn.windows for the geometry):

    max_pool2d:  out[n, c, i, j] = max_{u,v} xp[n, c, s·i + u, s·j + v]    (xp padded by -inf)
    avg_pool2d:  out[n, c, i, j] = Σ_{u,v} xp[n, c, s·i + u, s·j + v] / (kh·kw)   (by zeros)

Both loop over the kh·kw offsets of a window, each a strided view of the input; their
VJPs scatter the gradient back through the same views.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Function, Node, Tensor
from autograd.ops.operands import as_floating
from nn.windows import Windows, chwn, nchw


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """The maximum of every (kh, kw) window of x (N, C, H, W) or (C, H, W), as PyTorch's
    max_pool2d."""
    return _pool("max_pool2d", MaxPool2d, x, kernel_size, stride, padding)


def avg_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """The mean of every (kh, kw) window of x (N, C, H, W) or (C, H, W), padding counted
    as zeros, as PyTorch's avg_pool2d (count_include_pad=True); integers give float32,
    as a mean does."""
    return _pool("avg_pool2d", AvgPool2d, as_floating(x), kernel_size, stride, padding)


def _pool(
    op: str, pooling: type[Function], x: Any, kernel: Any, stride: Any, padding: Any
) -> Tensor:
    """`pooling` applied to x over its windows, checked."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 3:  # one image (C, H, W), as PyTorch allows: pooled as a batch of one
        return _pool(op, pooling, x[None], kernel, stride, padding)[0]
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be (N, C, H, W) or (C, H, W), got shape {x.shape}")
    windows = Windows.over(op, x.shape[2:], kernel, kernel if stride is None else stride, padding)
    if any(2 * p > k for p, k in zip(windows.padding, windows.kernel)):
        raise ValueError(
            f"{op}: padding {windows.padding} must be at most half the kernel size {windows.kernel}"
        )
    return pooling.apply(x, windows=windows)


class MaxPool2d(Function):
    """out = the maximum of every window.

    `winner` holds, per output, the offset k = u·kw + v of its window's maximum: the
    first one where several are equal, as in PyTorch. The gradient goes there alone.
    Given a `winner`, the forward picks those elements instead of searching them.
    """

    formula = "dx = grad at each window's maximum, 0 elsewhere"

    @staticmethod
    def forward(
        node: Node, x: np.ndarray, windows: Windows, winner: np.ndarray | None = None
    ) -> np.ndarray:
        xp = windows.pad(chwn(x), -np.inf if winner is None else 0)
        if winner is None:
            out, winner = _max_and_winner(xp, windows)
        else:
            out = np.zeros(winner.shape, dtype=x.dtype)
            for k, (u, v) in enumerate(windows.offsets()):
                out += windows.at(xp, u, v) * (winner == k)
        node.windows, node.winner = windows, winner
        return nchw(out)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        # dout/dx = 1 at the window's maximum and 0 elsewhere: each gradient goes there
        return MaxPool2dGrad.apply(grad, windows=node.windows, winner=node.winner)


def _max_and_winner(xp: np.ndarray, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Every window's maximum (NaN where the window holds one) and the offset where it
    first occurs. Plain passes over whole arrays only: NumPy's masked operations
    (where=, boolean indexing) are many times slower."""
    offsets = enumerate(windows.offsets())
    _, (u, v) = next(offsets)
    best = windows.at(xp, u, v).copy()
    winner = np.zeros(best.shape, dtype=np.min_scalar_type(windows.kernel[0] * windows.kernel[1]))
    for k, (u, v) in offsets:
        candidate = windows.at(xp, u, v)
        larger = candidate > best  # strictly: a tie keeps the first
        np.maximum(best, candidate, out=best)
        np.maximum(winner, larger * winner.dtype.type(k), out=winner)  # k only grows
    return best, winner


class MaxPool2dGrad(Function):
    """dx = each output's gradient added at its window's maximum (max_pool2d's VJP)."""

    formula = "dg = grad picked at each window's maximum"

    @staticmethod
    def forward(node: Node, g: np.ndarray, windows: Windows, winner: np.ndarray) -> np.ndarray:
        node.windows, node.winner = windows, winner
        g = chwn(g)
        dxp = windows.zeros(g.shape[0], g.shape[-1], g.dtype)
        overlap = any(s < k for s, k in zip(windows.stride, windows.kernel))
        for k, (u, v) in enumerate(windows.offsets()):
            if overlap:  # an element in several windows gets the share of each
                windows.at(dxp, u, v)[...] += g * (winner == k)
            else:  # each element in one window at most: write, no need to add
                np.multiply(g, winner == k, out=windows.at(dxp, u, v))
        return nchw(windows.unpad(dxp))

    @staticmethod
    def backward(node: Node, u: Tensor) -> Tensor:
        # linear in g: its VJP picks u at every window's maximum, as max_pool2d does
        return MaxPool2d.apply(u, windows=node.windows, winner=node.winner)


class AvgPool2d(Function):
    """out = the mean of every window, the padding's zeros included."""

    formula = "dx = grad / (kh·kw), spread over each window"

    @staticmethod
    def forward(node: Node, x: np.ndarray, windows: Windows) -> np.ndarray:
        node.windows = windows
        xp = windows.pad(chwn(x))
        total = np.zeros((x.shape[1], *windows.out_size, len(x)), dtype=x.dtype)
        for u, v in windows.offsets():
            total += windows.at(xp, u, v)
        return nchw(total / (windows.kernel[0] * windows.kernel[1]))

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        # dout/dx = 1/(kh·kw) for every element of the window: each gradient spreads evenly
        return AvgPool2dGrad.apply(grad, windows=node.windows)


class AvgPool2dGrad(Function):
    """dx = each output's gradient spread evenly over its window (avg_pool2d's VJP)."""

    formula = "dg = avg_pool2d(grad)"

    @staticmethod
    def forward(node: Node, g: np.ndarray, windows: Windows) -> np.ndarray:
        node.windows = windows
        share = chwn(g) / (windows.kernel[0] * windows.kernel[1])
        dxp = windows.zeros(share.shape[0], share.shape[-1], share.dtype)
        for u, v in windows.offsets():  # where windows overlap, shares add
            windows.at(dxp, u, v)[...] += share
        return nchw(windows.unpad(dxp))

    @staticmethod
    def backward(node: Node, u: Tensor) -> Tensor:
        # linear in g, and the adjoint of avg_pool2d: its VJP is avg_pool2d again
        return AvgPool2d.apply(u, windows=node.windows)
