"""Operations that move elements without changing them: reshape, transpose,
broadcasting, indexing, concatenate and stack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd.function import Function, Node
from autograd.ops.operands import as_tensor, as_tensors
from autograd.tensor import Tensor


def unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum `grad` back to `shape`, undoing NumPy broadcasting.

    Broadcasting prepends axes and stretches size-1 axes; each copy of an input
    element contributes to the loss, so their gradients add up.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    stretched = [lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1]
    return grad.sum(axis=tuple(range(lead)) + tuple(stretched), keepdims=True).reshape(shape)


class BroadcastTo(Function):
    """z = x stretched to `shape` by NumPy's broadcasting rules"""

    formula = "dx = grad summed over the broadcast axes"

    @staticmethod
    def forward(node: Node, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        node.x_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        return unbroadcast(grad, node.x_shape), None


class Reshape(Function):
    """z = x with the same elements in a new shape"""

    formula = "dx = grad.reshape(x.shape)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        node.x_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        return grad.reshape(node.x_shape), None


class Transpose(Function):
    """z = x with its axes permuted (reversed when `axes` is None)"""

    formula = "dx = grad.transpose(inverse permutation)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, axes: Sequence[int] | None) -> np.ndarray:
        node.axes = None if axes is None else tuple(a % x.ndim for a in axes)
        return x.transpose(axes)

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        # the inverse permutation puts every axis back
        inverse = None if node.axes is None else tuple(np.argsort(node.axes))
        return transpose(grad, inverse), None


class GetItem(Function):
    """z = x[index] for ints, slices, None, ..., integer arrays and boolean masks"""

    formula = "dx = zeros(x.shape); dx[index] += grad"

    @staticmethod
    def forward(node: Node, x: np.ndarray, index: Any) -> np.ndarray:
        node.x_shape = x.shape
        node.save_for_backward(index)
        return x[index]

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        (index,) = node.saved_tensors
        # each element of x gets the gradients of every place it was copied to
        return ScatterAdd.apply(grad, node.x_shape, index), None


class ScatterAdd(Function):
    """z = zeros(shape) with z[index] += g, repeated indices adding up (the VJP of x[index])"""

    formula = "dg = grad[index]"

    @staticmethod
    def forward(node: Node, g: np.ndarray, shape: tuple[int, ...], index: Any) -> np.ndarray:
        node.save_for_backward(index)
        z = np.zeros(shape, dtype=g.dtype)
        if _has_integer_array(index):
            np.add.at(z, index, g)  # unbuffered: a repeated index adds every time
        else:
            z[index] = g  # basic indexing and masks never repeat an element
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None, None]:
        (index,) = node.saved_tensors
        return grad[index], None, None


def _has_integer_array(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


class Concatenate(Function):
    """z = the inputs joined along an existing axis"""

    formula = "dxᵢ = grad's slice i along the axis"

    @staticmethod
    def forward(node: Node, *xs: np.ndarray, axis: int) -> np.ndarray:
        z = np.concatenate(xs, axis=axis)
        node.axis = axis % z.ndim
        node.bounds = np.cumsum([0] + [x.shape[node.axis] for x in xs])
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, ...]:
        # each input gets back its own slice of the gradient
        before = (slice(None),) * node.axis
        return tuple(
            grad[before + (slice(start, stop),)]
            for start, stop in zip(node.bounds[:-1], node.bounds[1:])
        )


class Stack(Function):
    """z = the inputs joined along a new axis"""

    formula = "dxᵢ = grad[..., i, ...] along the new axis"

    @staticmethod
    def forward(node: Node, *xs: np.ndarray, axis: int) -> np.ndarray:
        z = np.stack(xs, axis=axis)
        node.axis, node.count = axis % z.ndim, len(xs)
        return z

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, ...]:
        # input i gets the gradient at position i of the new axis
        before = (slice(None),) * node.axis
        return tuple(grad[before + (i,)] for i in range(node.count))


def broadcast_to(x: Any, shape: tuple[int, ...]) -> Tensor:
    return BroadcastTo.apply(as_tensor(x), tuple(shape))


def reshape(x: Any, shape: int | Sequence[int]) -> Tensor:
    x = as_tensor(x)
    return x if x.shape == shape else Reshape.apply(x, shape)  # already so: nothing to record


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose.apply(as_tensor(x), None if axes is None else tuple(axes))


def getitem(x: Any, index: Any) -> Tensor:
    return GetItem.apply(as_tensor(x), _plain_index(index))


def _plain_index(index: Any) -> Any:
    """The index as NumPy reads it, with each advanced part made an ndarray (so that
    ScatterAdd can tell them apart from basic parts): Tensors become their arrays,
    and lists, and tuples inside an index tuple, become integer or boolean arrays."""
    if isinstance(index, tuple):
        return tuple(_plain_part(part) for part in index)
    return _plain_part(index)


def _plain_part(part: Any) -> Any:
    if isinstance(part, Tensor):
        return part.data
    if isinstance(part, (list, tuple)):  # a sequence of indices, as NumPy reads it
        array = np.asarray(part)
        return array if array.size else array.astype(np.intp)  # [] selects nothing
    return part


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return Concatenate.apply(*as_tensors(*tensors), axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return Stack.apply(*as_tensors(*tensors), axis=axis)
