"""Pooling: the maximum or the mean of every window, and their VJPs.

For x (N, C, H, W), a (kh, kw) window, stride s (the window's size unless given)
and padding p (at most half the window; see nn.windows for the geometry):

    max_pool2d:  out[n, c, i, j] = max_{u,v} xp[n, c, s·i + u, s·j + v]    (xp padded by the
                                                     dtype's lowest value: -inf, False, ...)
    avg_pool2d:  out[n, c, i, j] = Σ_{u,v} xp[n, c, s·i + u, s·j + v] / (kh·kw)   (by zeros)

Both loop over the kh·kw offsets of a window, each a strided view of the input; their
VJPs scatter the gradient back through the same views. Where numba is installed (the
`numba` extra; `AUTOGRAD_NUMBA=0` switches it off), max_pool2d and its VJP on float32
and float64 run instead as compiled loops over the windows (nn.pooling_loops), with
the same results, about twice as fast.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from autograd import Function, Node, Tensor
from autograd.ops.operands import as_floating, as_tensor
from nn import pooling_loops
from nn.compiled import compiled_for
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
    x = as_tensor(x)
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

    `winner` holds, per output, the offset k = u·kw + v of its window's maximum, chosen
    as PyTorch does: the first one where several are equal, the last NaN where the
    window holds NaNs, and never the padding. The gradient goes there alone. Given a
    `winner`, the forward picks those elements instead of searching them.
    """

    formula = "dx = grad at each window's maximum, 0 elsewhere"

    @staticmethod
    def forward(
        node: Node, x: np.ndarray, windows: Windows, winner: np.ndarray | None = None
    ) -> np.ndarray:
        if winner is None:
            out, winner = _max_and_winner(windows.pad(chwn(x), _lowest(x.dtype)), windows)
        else:
            xp, finite = windows.pad(chwn(x)), _all_finite(x)
            out = np.zeros(winner.shape, dtype=x.dtype)
            for k, (u, v) in enumerate(windows.offsets()):
                out += _picked(windows.at(xp, u, v), winner == k, finite)
        node.windows, node.winner = windows, winner
        return nchw(out)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        # dout/dx = 1 at the window's maximum and 0 elsewhere: each gradient goes there
        return MaxPool2dGrad.apply(grad, windows=node.windows, winner=node.winner)


def _lowest(dtype: np.dtype) -> bool | int | float:
    """The padding of a maximum: the dtype's lowest value, which no element exceeds."""
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min if dtype.kind in "iu" else -np.inf


def _max_and_winner(xp: np.ndarray, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Every window's maximum (NaN where the window holds one) and the offset of its
    winner (see MaxPool2d): compiled loops where numba is installed (nn.pooling_loops),
    else plain passes over whole arrays (NumPy's masked operations, where= and boolean
    indexing, are many times slower)."""
    views = [windows.at(xp, u, v) for u, v in windows.offsets()]
    winner = np.zeros(views[0].shape, dtype=np.min_scalar_type(len(views)))
    loops = _compiled_loops(xp.dtype)
    if loops is not None:
        best = np.empty(views[0].shape, dtype=xp.dtype)
        loops.max_and_winner(xp, *windows.kernel, *windows.stride, best, winner)
    else:
        best = views[0].copy()
        for k, candidate in enumerate(views[1:], 1):
            larger = candidate > best  # strictly: a tie keeps the first
            np.maximum(best, candidate, out=best)  # NaN propagates
            np.maximum(winner, larger * winner.dtype.type(k), out=winner)  # k only grows
        if best.dtype.kind == "f" and not _all_finite(best):  # rare: then the last NaN wins
            for k, candidate in enumerate(views):
                np.copyto(winner, k, where=np.isnan(candidate))
    if windows.padding != (0, 0):  # all equal to the padding, which came first: not it
        winner = _off_the_padding(winner, windows)
    return best, winner


def _compiled_loops(dtype: np.dtype) -> SimpleNamespace | None:
    """nn.pooling_loops compiled, for float32 and float64 where numba is installed."""
    return compiled_for(dtype, pooling_loops.compiled, "max-pooling runs as NumPy passes")


def _off_the_padding(winner: np.ndarray, windows: Windows) -> np.ndarray:
    """`winner` with any offset that lies in the padding moved to the window's first
    element inside the input (where PyTorch, which never looks at the padding, puts it)."""
    inside = np.stack([windows.inside(u, v) for u, v in windows.offsets()])  # (k, Ho, Wo)
    rows, cols = np.indices(windows.out_size)
    rows, cols = rows[:, :, None], cols[:, :, None]  # broadcast over (C, Ho, Wo, N)
    first_inside = inside.argmax(axis=0).astype(winner.dtype)[:, :, None]
    return np.where(inside[winner, rows, cols], winner, first_inside)


def _all_finite(a: np.ndarray) -> bool:
    """True when every element is finite (a finite sum says so; an overflowing sum only
    sends the caller to its exact, slower path)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.sum(a, dtype=a.dtype)))


def _picked(
    values: np.ndarray, mask: np.ndarray, finite: bool, out: np.ndarray | None = None
) -> np.ndarray:
    """values where mask holds, else 0 (into `out` when given). values · mask, ten times
    faster than np.where, gives that when `finite`; inf · 0 would be NaN otherwise."""
    if finite:
        return np.multiply(values, mask, out=out)
    picked = np.where(mask, values, values.dtype.type(0))
    if out is None:
        return picked
    out[...] = picked
    return out


class MaxPool2dGrad(Function):
    """dx = each output's gradient added at its window's maximum (max_pool2d's VJP)."""

    formula = "dg = grad picked at each window's maximum"

    @staticmethod
    def forward(node: Node, g: np.ndarray, windows: Windows, winner: np.ndarray) -> np.ndarray:
        node.windows, node.winner = windows, winner
        g = np.ascontiguousarray(chwn(g))  # batch last, if it is not: the passes run along it
        c, n = g.shape[0], g.shape[-1]
        if windows.tile():  # every element is written below: no need to zero them first
            dxp = np.empty((c, *windows.padded_size, n), dtype=g.dtype)
        else:
            dxp = windows.zeros(c, n, g.dtype)
        overlap = any(s < k for s, k in zip(windows.stride, windows.kernel))
        loops = _compiled_loops(g.dtype)
        if loops is not None:
            loops.route(g, winner, *windows.kernel, *windows.stride, dxp, overlap)
            return nchw(windows.unpad(dxp))
        finite = _all_finite(g)
        for k, (u, v) in enumerate(windows.offsets()):
            if overlap:  # an element in several windows gets the share of each
                windows.at(dxp, u, v)[...] += _picked(g, winner == k, finite)
            else:  # each element in one window at most: write, no need to add
                _picked(g, winner == k, finite, out=windows.at(dxp, u, v))
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
