"""conv2d: a 2-D convolution as im2col and one matrix product, and its two VJPs.

For x (N, C, H, W), w (O, C, kh, kw), b (O,), stride s and padding p (per axis;
xp is x with p zeros on each side, see nn.windows):

    out[n, o, i, j] = Σ_{c,u,v} xp[n, c, s·i + u, s·j + v] · w[o, c, u, v] + b[o]

im2col copies the windows of xp into the columns of a matrix, cols of shape
(C·kh·kw, Ho·Wo·N); then the convolution is one matrix product with w as a
(O, C·kh·kw) matrix, and its VJPs are the other two products of the same matrices:

    out   = w @ cols + b
    dL/dw = grad @ colsᵀ          correlate the input with the output's gradient
    dL/db = Σ_{n,i,j} grad
    dL/dx = col2im(wᵀ @ grad)     scatter-add each window's share back: a transposed
                                  convolution (a full convolution of grad with w)

The bias is the weight of an input that is always 1: with a bias, cols gets one more
row, of ones, and the products become out = [w | b] @ cols and [dL/dw | dL/db] =
grad @ colsᵀ, so no pass over the whole output adds b or sums grad.

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
from nn import (
    allocator,  # noqa: F401  (keeps the large temporaries' pages between steps)
    conv_loops,
)
from nn.compiled import compiled_for
from nn.windows import Windows, chwn, nchw

BLOCK_COLUMNS = 4096  # col2im_of_product's blocks of columns: about 5 MB, kept in the cache
SUM_CHUNK = 3072  # _summed_in_chunks' chunks of the inner dimension


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


def im2col(x: np.ndarray, windows: Windows, ones: bool = False) -> np.ndarray:
    """cols[(c, u, v), (i, j, n)] = xp[c, s·i + u, s·j + v, n] for a (C, H, W, N) array x:
    the windows of xp as the columns of a (C·kh·kw, Ho·Wo·N) matrix. With `ones`, one
    more row, of ones: the input that a bias multiplies."""
    xp = windows.pad(x)
    c, n = x.shape[0], x.shape[-1]
    rows = c * math.prod(windows.kernel)
    cols = np.empty((rows + ones, math.prod(windows.out_size) * n), dtype=x.dtype)
    windows_of = cols[:rows].reshape(c, *windows.kernel, *windows.out_size, n)
    for u, v in windows.offsets():  # one strided copy per offset, of rows Wo·N long
        windows_of[:, u, v] = windows.at(xp, u, v)
    cols[rows:] = 1
    return cols


def col2im_of_product(wt: np.ndarray, g: np.ndarray, windows: Windows) -> np.ndarray:
    """col2im(wt @ g), the adjoint of im2col applied to a product: every entry of the
    (C·kh·kw, Ho·Wo·N) product wt @ g, for wt (C·kh·kw, O) and g (O, Ho, Wo, N), added back
    to the element of the (C, H, W, N) input it was copied from. The product is made a few
    rows of windows at a time, each block added in while it is still in the cache: by
    a compiled loop (nn.conv_loops) where numba is installed, else offset by offset."""
    o, (ho, wo), n = len(g), windows.out_size, g.shape[-1]
    c = len(wt) // math.prod(windows.kernel)
    xp = windows.zeros(c, n, g.dtype)
    loops = compiled_for(xp.dtype, conv_loops.compiled, "col2im adds as NumPy passes")
    step = max(1, BLOCK_COLUMNS // max(1, wo * n))  # rows of windows per block
    for i in range(0, ho, step):
        rows = slice(i, min(i + step, ho))
        block = wt @ g[:, rows].reshape(o, (rows.stop - i) * wo * n)
        block = block.reshape(c, *windows.kernel, rows.stop - i, wo, n)
        if loops is not None:
            loops.add_windows(block, xp, i, *windows.stride)
        else:
            for u, v in windows.offsets():  # windows overlap where s < k: their shares add up
                windows.at(xp, u, v)[:, rows] += block[:, u, v]
    return windows.unpad(xp)


def _summed_in_chunks(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b as the sum of the products of chunks of SUM_CHUNK along the inner dimension
    (the same sums, added in another order: float32 rounding). For a small result of long
    sums, as the first layer's weight gradient (10 x 86,528 times 86,528 x 32), OpenBLAS
    takes a quarter less time so than for the whole product."""
    out = a[:, :SUM_CHUNK] @ b[:SUM_CHUNK]
    for i in range(SUM_CHUNK, a.shape[1], SUM_CHUNK):
        out += a[:, i : i + SUM_CHUNK] @ b[i : i + SUM_CHUNK]
    return out


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
        weights = _weight_matrix(w)
        if b is not None:  # the bias as the weight of a row of ones: [w | b] @ [cols; 1]
            weights = np.concatenate([weights, b[:, None]], axis=1)
        cols = im2col(chwn(x), windows, ones=b is not None)
        out = weights @ cols
        node.windows, node.bias = windows, b is not None
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
        weight_grad = bias_grad = None
        if dw or db:  # with a bias, one product gives both: [dw | db] = grad @ [cols; 1]ᵀ
            params = ConvWeightGrad.apply(x, grad, windows=windows, cols=cols.data, bias=node.bias)
            weight_grad, bias_grad = (
                (params[:, :-1].reshape(w.shape), params[:, -1]) if node.bias else (params, None)
            )
        return (
            ConvTranspose.apply(grad, w, windows=windows) if dx else None,
            weight_grad if dw else None,
            bias_grad if db else None,
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
        dx = col2im_of_product(wt, chwn(g), windows)
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

    With `bias`, the bias's gradient db[o] = Σ_{n,i,j} g[n, o, i, j] comes from the same
    product, through im2col's row of ones, and the result is the (O, C·kh·kw + 1) matrix
    [dw | db]. `cols`, when given, is im2col(x) already computed (by conv2d's forward,
    with the row of ones when there is a bias).
    """

    formula = "dx = conv_transpose(g, grad), dg = conv2d(x, grad)"

    @staticmethod
    def forward(
        node: Node,
        x: np.ndarray,
        g: np.ndarray,
        windows: Windows,
        cols: np.ndarray | None = None,
        bias: bool = False,
    ) -> np.ndarray:
        node.windows, node.bias = windows, bias
        node.save_for_backward(x, g)
        cols = im2col(chwn(x), windows, ones=bias) if cols is None else cols
        # g @ colsᵀ computed as (cols @ gᵀ)ᵀ: OpenBLAS is 15-30% faster that way round here
        params = _summed_in_chunks(cols, _matrix(g).T).T
        return params if bias else params.reshape(g.shape[1], x.shape[1], *windows.kernel)

    @staticmethod
    def backward(node: Node, u: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, g = node.saved_tensors
        dx, dg = node.needs_input_grad
        uw, ub = u, None
        if node.bias:  # u is [uw | ub], the weight's part and the bias's
            uw, ub = u[:, :-1].reshape(g.shape[1], x.shape[1], *node.windows.kernel), u[:, -1]
        # linear in x and in g: d/dx is the transposed convolution of g with uw,
        # d/dg is conv2d(x, uw) + ub
        return (
            ConvTranspose.apply(g, uw, windows=node.windows) if dx else None,
            Conv2d.apply(x, uw, ub, windows=node.windows) if dg else None,
        )
