"""Tensor: an ndarray that remembers the operation that made it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class Tensor:
    """An n-dimensional array that records the operations computing it.

    `data` is the NumPy array. A tensor computed by an operation from tensors
    that require grad keeps that operation's node in `_node`; `backward()`
    walks those nodes in reverse and leaves dL/d(leaf) in each leaf's `grad`.
    """

    __slots__ = ("data", "grad", "_node", "requires_grad", "__dict__", "__weakref__")
    __array_ufunc__ = None  # `ndarray op Tensor` defers to Tensor's reflected operator
    __hash__ = object.__hash__  # usable in sets and dicts despite __eq__ below
    _leaf = None  # a leaf's graph node, made when an operation first uses it (function.Leaf)
    _versions: list[int] | None = None  # [in-place changes so far], shared with detached copies

    def __init__(self, data: Any, requires_grad: bool = False):
        self.data: np.ndarray = _as_array(data)
        self.grad: Tensor | None = None
        self._node = None  # the graph node that made this tensor; None for leaves
        self.requires_grad = False
        if requires_grad:
            if not np.issubdtype(self.data.dtype, np.floating):
                raise TypeError(
                    f"Only floating-point tensors can require grad; this one is {self.dtype}. "
                    "Integer tensors hold labels and indices, which have no gradient."
                )
            self.requires_grad = True

    @classmethod
    def wrap(cls, array: np.ndarray) -> Tensor:
        """A tensor around `array` as it is: what every operation returns, made quickly."""
        t = object.__new__(cls)
        t.data, t.grad, t._node, t.requires_grad = array, None, None, False
        return t

    # ----- what a tensor is -----
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an operation."""
        return self._node is None

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor whose gradient backward will keep in `.grad`."""
        return self._node is not None and self._node.retains_grad

    def retain_grad(self) -> None:
        """Keep this tensor's gradient in `.grad` after backward, even if it is not a leaf.

        Leaves that require grad get theirs anyway, so for them this changes nothing.
        The gradient accumulates over backward calls, as a leaf's does, and with
        `create_graph=True` it is itself differentiable. `ag.grad` leaves it alone.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad() on a tensor that does not require grad: no gradient flows to it"
            )
        if self._node is not None:
            self._node.retains_grad = True

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self.data.item()

    def astype(self, dtype: Any) -> Tensor:
        """The values in another dtype (differentiable for floating dtypes)."""
        return ops.astype(self, dtype)

    def detach(self) -> Tensor:
        """The same values (the same memory, and the same version), cut from the graph."""
        if self._versions is None:
            self._versions = [0]
        detached = Tensor(self.data)
        detached._versions = self._versions
        return detached

    @property
    def _version(self) -> int:
        """How many times the data was changed in place through `bump_version()`."""
        return 0 if self._versions is None else self._versions[0]

    def bump_version(self) -> None:
        """Note an in-place change of `data`: a graph that saved this tensor before it
        refuses to run its backward, rather than use the new values."""
        if self._versions is None:
            self._versions = [0]
        self._versions[0] += 1

    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf), weighted by `grad`, into every leaf's `.grad`."""
        engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.dtype != np.float32:
            extra = f", dtype={self.dtype}" + extra
        return f"tensor({body}{extra})"

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ----- arithmetic: operators with NumPy broadcasting -----
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    # ----- comparisons: boolean tensors, no gradient -----
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _data(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _data(other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _data(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _data(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _data(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _data(other))

    # ----- elementwise functions -----
    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return ops.clip(self, min, max)

    # ----- reductions -----
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.max(self, axis, keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.min(self, axis, keepdims)

    def logsumexp(
        self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False
    ) -> Tensor:
        return ops.logsumexp(self, axis, keepdims)

    # ----- shape -----
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return ops.transpose(self, axes or None)

    @property
    def T(self) -> Tensor:
        return ops.transpose(self, None)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)


def _as_array(data: Any) -> np.ndarray:
    """NumPy arrays and scalars keep their dtype; Python floats become float32."""
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, np.generic):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype == np.float64:
        return array.astype(np.float32)
    return array


def _data(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of `data` (lists of floats become float32)."""
    source = data if dtype is not None and not isinstance(data, Tensor) else _as_array(data)
    array = np.array(source, dtype=dtype, copy=True)
    return Tensor(array, requires_grad=requires_grad)


from autograd import engine, ops  # noqa: E402  (both build on Tensor, so they come last)
