"""conv2d: a 2-D convolution as im2col and one matrix product, and its two VJPs.

For x (N, C, H, W), w (O, C, kh, kw), b (O,), stride s and padding p (per axis;
xp is x with p zeros on each side, see nn.windows):

    out[n, o, i, j] = Σ_{c,u,v} xp[n, c, s·i + u, s·j + v] · w[o, c, u, v] + b[o]

im2col copies the windows of xp into the columns of a matrix, cols of shape
(C·kh·kw, Ho·Wo·N); then the convolution is one matrix product with w as a
(O, C·kh·kw) matrix, and its VJPs are the other two products of the same matrices:

    out   = w @ cols + b
    dL/dw = grad @ colsᵀ          correlate the input with the output's gradient
    dL/dx = col2im(wᵀ @ grad)     scatter-add each window's share back: a transposed
                                  convolution (a full convolution of grad with w)

Each VJP is an operation of its own (ConvWeightGrad, ConvTranspose) whose VJPs are
again conv2d and these two, so a convolution can be differentiated any number of
times. Inside, arrays are (C, H, W, N), batch last (see nn.windows): then im2col and
col2im copy long contiguous rows, and w @ cols is the next layer's input as it is.
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Function, Node, Tensor
from autograd.ops.operands import as_tensors
from nn import allocator  # noqa: F401  (keeps the large temporaries' pages between steps)
from nn.windows import Windows, chwn, nchw


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """2-D convolution (a cross-correlation, as in PyTorch) of x (N, C, H, W) with
    weight (O, C, kh, kw), plus bias (O,): the result is (N, O, Ho, Wo). One image
    (C, H, W) gives (O, Ho, Wo)."""
    if bias is None:  # one dtype for all, by PyTorch's rule (see autograd.ops.operands)
        x, weight = as_tensors(x, weight)
    else:
        x, weight, bias = as_tensors(x, weight, bias)
    if x.ndim == 3 and weight.ndim == 4:  # one image (C, H, W), as PyTorch allows
        return conv2d(x[None], weight, bias, stride, padding)[0]
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"conv2d: input must be (N, C, H, W) or (C, H, W) and weight (O, C, kh, kw), "
            f"got shapes {x.shape} and {weight.shape}"
        )
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d: the input has {x.shape[1]} channels but the weight {weight.shape} "
            f"expects {weight.shape[1]}"
        )
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(
            f"conv2d: bias must have shape ({weight.shape[0]},), one per output channel, "
            f"got {bias.shape}"
        )
    windows = Windows.over("conv2d", x.shape[2:], weight.shape[2:], stride, padding)
    return Conv2d.apply(x, weight, bias, windows=windows)


def im2col(x: np.ndarray, windows: Windows) -> np.ndarray:
    """cols[(c, u, v), (i, j, n)] = xp[c, s·i + u, s·j + v, n] for a (C, H, W, N) array x:
    the windows of xp as the columns of a (C·kh·kw, Ho·Wo·N) matrix."""
    xp = windows.pad(x)
    c, n = x.shape[0], x.shape[-1]
    cols = np.empty((c, *windows.kernel, *windows.out_size, n), dtype=x.dtype)
    for u, v in windows.offsets():  # one strided copy per offset, of rows Wo·N long
        cols[:, u, v] = windows.at(xp, u, v)
    return cols.reshape(math.prod(cols.shape[:3]), math.prod(cols.shape[3:]))


def col2im(cols: np.ndarray, c: int, n: int, windows: Windows) -> np.ndarray:
    """The adjoint of im2col: every entry of cols added back to the element of the
    (C, H, W, N) input it was copied from."""
    cols = cols.reshape(c, *windows.kernel, *windows.out_size, n)
    xp = windows.zeros(c, n, cols.dtype)
    for u, v in windows.offsets():  # windows overlap where s < k: their shares add up
        windows.at(xp, u, v)[...] += cols[:, u, v]
    return windows.unpad(xp)


def _matrix(g: np.ndarray) -> np.ndarray:
    """An (N, O, Ho, Wo) gradient as the (O, Ho·Wo·N) matrix of the products (a view when
    its memory is (O, Ho, Wo, N), as conv2d's output is)."""
    n, o, ho, wo = g.shape
    return chwn(g).reshape(o, ho * wo * n)


def _weight_matrix(w: np.ndarray) -> np.ndarray:
    """The (O, C, kh, kw) weight as an (O, C·kh·kw) matrix."""
    return w.reshape(len(w), math.prod(w.shape[1:]))


class Conv2d(Function):
    """out = conv2d(x, w) + b, as w @ im2col(x) + b (see the module docstring)."""

    formula = "dx = col2im(wᵀ @ grad), dw = grad @ im2col(x)ᵀ, db = Σ_{n,i,j} grad"

    @staticmethod
    def forward(
        node: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, windows: Windows
    ) -> np.ndarray:
        cols = im2col(chwn(x), windows)
        out = _weight_matrix(w) @ cols
        if b is not None:
            out += b[:, None]  # in place: out is a fresh array
        node.windows = windows
        node.save_for_backward(x, w, cols)  # cols: reused by the weight's gradient
        return nchw(out.reshape(len(w), *windows.out_size, len(x)))

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, w, cols = node.saved_tensors
        dx, dw, db = node.needs_input_grad
        windows = node.windows
        # dL/dx = col2im(wᵀ @ grad): each output's gradient spread over its window by w
        # dL/dw = grad @ colsᵀ: Σ_{n,i,j} grad[n, o, i, j] · xp[n, c, s·i + u, s·j + v]
        # dL/db = Σ_{n,i,j} grad[n, o, i, j]
        return (
            ConvTranspose.apply(grad, w, windows=windows) if dx else None,
            ConvWeightGrad.apply(x, grad, windows=windows, cols=cols.data) if dw else None,
            grad.sum(axis=(0, 2, 3)) if db else None,
        )


class ConvTranspose(Function):
    """dx = col2im(wᵀ @ g): the transposed convolution of g (N, O, Ho, Wo) with
    w (O, C, kh, kw), shaped as conv2d's input (the VJP of conv2d for x):

        dx[n, c, s·i + u, s·j + v] += Σ_o g[n, o, i, j] · w[o, c, u, v]
    """

    formula = "dg = conv2d(grad, w), dw = grad @ im2col(g)ᵀ"

    @staticmethod
    def forward(node: Node, g: np.ndarray, w: np.ndarray, windows: Windows) -> np.ndarray:
        node.windows = windows
        node.save_for_backward(g, w)
        wt = np.ascontiguousarray(_weight_matrix(w).T)  # copied: OpenBLAS is ~20% faster so
        dx = col2im(wt @ _matrix(g), w.shape[1], len(g), windows)
        return nchw(dx)

    @staticmethod
    def backward(node: Node, u: Tensor) -> tuple[Tensor | None, Tensor | None]:
        g, w = node.saved_tensors
        dg, dw = node.needs_input_grad
        # linear in g and in w: d/dg is conv2d(u, w), d/dw correlates u with g
        return (
            Conv2d.apply(u, w, None, windows=node.windows) if dg else None,
            ConvWeightGrad.apply(u, g, windows=node.windows) if dw else None,
        )


class ConvWeightGrad(Function):
    """dw = g @ im2col(x)ᵀ: the correlation of x (N, C, H, W) with g (N, O, Ho, Wo),
    shaped as the weight (the VJP of conv2d for w):

        dw[o, c, u, v] = Σ_{n,i,j} g[n, o, i, j] · xp[n, c, s·i + u, s·j + v]

    `cols`, when given, is im2col(x) already computed (by conv2d's forward).
    """

    formula = "dx = conv_transpose(g, grad), dg = conv2d(x, grad)"

    @staticmethod
    def forward(
        node: Node,
        x: np.ndarray,
        g: np.ndarray,
        windows: Windows,
        cols: np.ndarray | None = None,
    ) -> np.ndarray:
        node.windows = windows
        node.save_for_backward(x, g)
        cols = im2col(chwn(x), windows) if cols is None else cols
        # g @ colsᵀ computed as (cols @ gᵀ)ᵀ: OpenBLAS is 15-30% faster that way round here
        return (cols @ _matrix(g).T).T.reshape(g.shape[1], x.shape[1], *windows.kernel)

    @staticmethod
    def backward(node: Node, u: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, g = node.saved_tensors
        dx, dg = node.needs_input_grad
        # linear in x and in g: d/dx is the transposed convolution of g with u,
        # d/dg is conv2d(x, u)
        return (
            ConvTranspose.apply(g, u, windows=node.windows) if dx else None,
            Conv2d.apply(x, u, None, windows=node.windows) if dg else None,
        )
