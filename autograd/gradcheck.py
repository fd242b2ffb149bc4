"""Checking autograd's gradients against central finite differences in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd.engine import grad
from autograd.ops import concatenate
from autograd.tensor import Tensor


class GradcheckError(RuntimeError):
    """An autograd gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True when the gradient of `fn(*inputs)` matches central differences.

    The check runs in float64 on copies of the inputs. Rather than the whole
    Jacobian, it compares the gradient of `Σ v·fn(*inputs)` for a fixed random
    `v`, which any wrong vector-Jacobian product fails. Every floating-point
    input that requires grad is checked; a mismatch raises GradcheckError
    naming the input, the element and both values.
    """
    xs = _float64_copies(inputs)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    y = fn(*xs)
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(y).__name__}")
    v = Tensor(np.random.default_rng(seed).standard_normal(y.shape))

    def projected(*args: Any) -> float:
        return float(np.sum(fn(*args).data * v.data))

    if y.requires_grad:
        analytic = grad(y, [xs[i] for i in checked], grad_outputs=v)
    else:  # y recorded no graph, so autograd's answer is zero: the numbers must agree
        analytic = [Tensor(np.zeros_like(xs[i].data)) for i in checked]
    for i, a in zip(checked, analytic):
        _compare(f"input {i}", xs[i], a.data, projected, xs, eps, atol, rtol)
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """True when the second derivatives of `fn(*inputs)` match finite differences
    of its first derivatives: `gradcheck` of the gradient built with create_graph=True."""
    xs = _float64_copies(inputs)
    y = fn(*xs)
    v = Tensor(np.random.default_rng(seed + 1).standard_normal(y.shape))

    def first_derivatives(*args: Any) -> Tensor:
        out = fn(*args)
        diffable = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        gs = grad(out, diffable, grad_outputs=v, create_graph=True)
        return concatenate([g.reshape(-1) for g in gs])

    try:
        return gradcheck(first_derivatives, xs, eps, atol, rtol, seed)
    except GradcheckError as error:
        raise GradcheckError(f"second derivative: {error}") from None


def _float64_copies(inputs: Tensor | Sequence[Any]) -> list[Any]:
    """Inputs as float64 leaves (floating tensors) or unchanged (anything else)."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    return [
        Tensor(x.data.astype(np.float64), requires_grad=x.requires_grad)
        if isinstance(x, Tensor) and np.issubdtype(x.dtype, np.floating)
        else x
        for x in inputs
    ]


def _compare(
    name: str,
    x: Tensor,
    analytic: np.ndarray,
    projected: Callable[..., float],
    xs: list[Any],
    eps: float,
    atol: float,
    rtol: float,
) -> None:
    """Central difference for each element of x, against the analytic gradient."""
    for index in np.ndindex(x.shape):
        original = x.data[index]
        x.data[index] = original + eps
        above = projected(*xs)
        x.data[index] = original - eps
        below = projected(*xs)
        x.data[index] = original
        numeric = (above - below) / (2 * eps)
        if not abs(analytic[index] - numeric) <= atol + rtol * abs(numeric):
            raise GradcheckError(
                f"{name}, element {index}: numerical {numeric!r}, "
                f"analytical {float(analytic[index])!r} "
                f"(tolerance atol={atol} + rtol={rtol}·|numerical|)"
            )
