"""Weight initialisation in place, with PyTorch's formulas and a NumPy random generator.

Each function fills `tensor.data` in place (keeping its dtype), draws from
`rng` (a fresh `np.random.default_rng()` when None) and returns the tensor.
Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in is
in·prod(kernel) and fan_out is out·prod(kernel).
"""

from __future__ import annotations

import math

import numpy as np

from autograd import Tensor

_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 0.75,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity: relu √2, tanh 5/3,
    leaky_relu √(2/(1 + slope²)) with slope `param` (default 0.01), linear 1."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        valid = ", ".join(sorted([*_GAINS, "leaky_relu"]))
        raise ValueError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use one of {valid}"
        )
    return _GAINS[nonlinearity]


def _fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight with at least two axes."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with 2 or more axes, got {tensor.shape}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, *, rng: np.random.Generator | None = None
) -> Tensor:
    """Fill with draws from U(a, b)."""
    tensor.data[...] = _rng(rng).uniform(a, b, tensor.shape)
    tensor.bump_version()
    return tensor


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, *, rng: np.random.Generator | None = None
) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    tensor.data[...] = _rng(rng).normal(mean, std, tensor.shape)
    tensor.bump_version()
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    tensor.data[...] = 0
    tensor.bump_version()
    return tensor


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """He init: U(-bound, bound) with bound = gain·√(3 / fan); gain √2 for relu
    (also the default: leaky_relu with slope `a` = 0)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, rng=rng)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """He init: N(0, std²) with std = gain / √fan."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng=rng)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, *, rng: np.random.Generator | None = None
) -> Tensor:
    """Glorot init: U(-bound, bound) with bound = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng=rng)


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, *, rng: np.random.Generator | None = None
) -> Tensor:
    """Glorot init: N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def _fan(tensor: Tensor, mode: str) -> int:
    fan_in, fan_out = _fans(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()
