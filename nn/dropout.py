"""Dropout: zero a random fraction p of the elements while training, scale the rest.

    out = x · mask / (1 - p),   mask[i] = 1 with probability 1 - p, else 0

so that the expected value of out is x, and evaluation (no dropout) sees activations
of the size training saw. p = 1 zeroes everything, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from autograd import Function, Node, Tensor
from autograd.ops.operands import as_floating, as_tensor


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, *, rng: np.random.Generator | None = None
) -> Tensor:
    """x with each element zeroed with probability `p` and the rest scaled by 1/(1 - p)
    when `training`; x itself otherwise. The mask is drawn from `rng` (a fresh
    unseeded generator when None)."""
    check_probability("dropout", p)
    x = as_tensor(x)
    if not training or p == 0:
        return x
    x = as_floating(x)  # integers are scaled too: float32, as in a mean
    rng = rng if rng is not None else np.random.default_rng()
    keep = rng.random(x.shape, dtype=np.float64 if x.dtype == np.float64 else np.float32) >= p
    scale = keep.astype(x.dtype) * np.asarray(1 / (1 - p) if p < 1 else 0, dtype=x.dtype)
    return Dropout.apply(x, scale)


def check_probability(op: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p is the probability of zeroing an element, in [0, 1]; got {p}")


class Dropout(Function):
    """out = x · scale, with scale = mask / (1 - p) drawn by `dropout`."""

    formula = "dx = grad · mask / (1 - p)"

    @staticmethod
    def forward(node: Node, x: np.ndarray, scale: np.ndarray) -> np.ndarray:
        node.save_for_backward(scale)
        return x * scale

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor, None]:
        (scale,) = node.saved_tensors
        # dout/dx = scale: the kept elements pass the gradient, scaled alike
        return grad * scale, None
