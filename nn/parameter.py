"""Parameter: a tensor that a Module registers as one of its trainable weights."""

from __future__ import annotations

from typing import Any

from autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad and that a Module lists in `parameters()`.

    Like `Tensor`, it shares a NumPy array it is given (keeping its dtype) and
    turns Python lists of floats into float32.
    """

    def __init__(self, data: Any, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
