"""Turning the operands of an operation into Tensors of one dtype, by PyTorch's rule.

The rule orders dtypes by category, bool < integer < floating, and operands by
kind: tensors and arrays with at least one axis, then 0-d ones, then Python
scalars. The dtype of the result is that of the first kind, unless a later kind
holds a higher category: then the later kind's dtype (in that category) decides.
So a float32 tensor stays float32 beside an integer mask, a 0-d float64 tensor or
the Python float 2.5, and becomes float64 beside a float64 array. A Python float
meeting only integers gives float32, the default floating dtype (as lists of
floats do), where NumPy would give float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.tensor import Tensor

DEFAULT_FLOAT = np.dtype(np.float32)  # the dtype of Python floats, and of integers made floating


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype holding both, where a floating dtype beats any integer or bool."""
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.result_type(a, b)


def result_dtype(*values: Any) -> np.dtype:
    """The dtype an operation on `values` computes in (see the module docstring)."""
    by_kind: list[np.dtype | None] = [None, None, None]  # dimensioned, 0-d, Python scalars
    for value in values:
        if isinstance(value, (bool, int, float)):  # np.float64 is a float, too
            kind, dtype = 2, _python_scalar_dtype(value)
        else:
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            kind, dtype = (0 if array.ndim else 1), array.dtype
        seen = by_kind[kind]
        by_kind[kind] = dtype if seen is None else promote(seen, dtype)
    dimensioned, zero_d, scalars = by_kind
    return _combine(dimensioned, _combine(zero_d, scalars))


def _python_scalar_dtype(value: bool | int | float) -> np.dtype:
    if isinstance(value, bool):
        return np.dtype(bool)
    return np.dtype(np.int64) if isinstance(value, int) else DEFAULT_FLOAT


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The dtype of operands of a higher-priority kind, overruled by a lower-priority
    kind only where that one is of a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote(higher, lower)
    return higher


def as_tensor(value: Any) -> Tensor:
    """`value` as a Tensor (a Python float becomes float32, like a list of floats)."""
    return value if isinstance(value, Tensor) else Tensor(value)


def as_tensors(*values: Any) -> tuple[Tensor, ...]:
    """All operands as Tensors that NumPy combines in the dtype `result_dtype` gives.

    Operands of another dtype are converted to it, but for those NumPy lifts to it
    by itself (a bool mask beside float32: no copy is needed). An operand that
    requires grad is converted by a differentiable cast, so its gradient comes back
    in its own dtype.
    """
    if len(values) == 2 and isinstance(values[0], Tensor) and isinstance(values[1], Tensor):
        a, b = values[0].data.dtype, values[1].data.dtype
        if a == b:  # the usual case: two tensors of one dtype, nothing to convert
            return values
        if a.kind == "f" and b.kind in "biu" and not values[1].requires_grad:
            return values  # a mask or integers beside floats: NumPy lifts them itself
    dtype = result_dtype(*values)
    return tuple([_operand(v, dtype) for v in values])


def _operand(value: Any, dtype: np.dtype) -> Tensor:
    x = as_tensor(value) if not isinstance(value, (bool, int, float)) else None
    if x is not None and not x.requires_grad and np.can_cast(x.dtype, dtype):
        return x  # NumPy lifts it to dtype inside the operation
    return in_dtype(value, dtype)


def as_floating(value: Any) -> Tensor:
    """`value` as a Tensor for a function with real values (exp, log, mean, ...):
    integers and bools become float32, as in PyTorch."""
    x = as_tensor(value)
    return x if x.dtype.kind == "f" else in_dtype(x, DEFAULT_FLOAT)


def in_dtype(value: Any, dtype: np.dtype) -> Tensor:
    """`value` as a Tensor of `dtype`, through a differentiable cast if it requires grad."""
    if isinstance(value, Tensor):
        if value.dtype == dtype:
            return value
        return value.astype(dtype) if value.requires_grad else Tensor(value.data.astype(dtype))
    return Tensor(np.asarray(value, dtype=dtype))
