"""Turning the operands of an operation into Tensors."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd.tensor import Tensor


def as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    """`value` as a Tensor; a Python scalar takes the dtype NumPy would give it beside `like`.

    So `x * 2.0` stays float32 for a float32 `x`: Python scalars never upcast.
    """
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, (bool, int, float)):
        return Tensor(np.asarray(value, dtype=np.result_type(like.dtype, value)))
    return Tensor(value)


def as_tensors(*values: Any) -> tuple[Tensor, ...]:
    """All operands as Tensors, scalars typed after the first Tensor among them."""
    like = None
    for v in values:
        if isinstance(v, Tensor):
            like = v
            break
    return tuple([v if isinstance(v, Tensor) else as_tensor(v, like) for v in values])
