"""The optimizers' update rules, one element at a time: the definition of each rule.

Each rule is a loop that reads and writes every element once. The loops take flat
arrays of one dtype and Python floats, and compute in the arrays' dtype (NumPy
rounds a Python float to it), so float32 parameters are updated in float32
arithmetic, one rounding per operation in PyTorch's order (lr is applied after the
division, as in its `addcdiv`). Two implementations run them:

- `compiled()`: these loops compiled by numba (the `numba` extra: `pip install
  'autograd-numpy[numba]'`), to machine code with SIMD, on the first call for each
  dtype, and cached beside this file.
- `nn.update_rules_numpy`: the same operations in the same order on whole arrays,
  one NumPy pass per operation.

Both give bit-identical results (tests/nn/test_nn_update_rules.py): numba compiles
without fastmath, so it neither reorders operations nor fuses a*b + c into one
rounding (FMA). Both take C-ordered arrays of any shape. Called directly, these
functions run as plain Python, slowly: that is the way to step through a rule in
a debugger.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np


def sgd(
    p: np.ndarray,
    g: np.ndarray,
    buf: np.ndarray,
    lr: float,
    momentum: float,
    weight_decay: float,
    first_step: bool,
) -> None:
    """d = g + weight_decay·p;  buf = momentum·buf + d (d at the first step);  p -= lr·buf.

    Without momentum, buf is not touched and p -= lr·d.
    """
    for i in range(p.size):
        d = g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if momentum != 0:
            if not first_step:
                d = momentum * buf[i] + d
            buf[i] = d
        p[i] -= lr * d


def rmsprop(
    p: np.ndarray,
    g: np.ndarray,
    v: np.ndarray,
    lr: float,
    alpha: float,
    one_minus_alpha: float,
    eps: float,
    floor: float,
) -> None:
    """v = α·v + (1 - α)·g²;  p -= lr·g / (√v + ε).  A v below `floor` becomes 0."""
    for i in range(p.size):
        v[i] = alpha * v[i] + one_minus_alpha * (g[i] * g[i])
        if v[i] < floor:
            v[i] = 0
        p[i] -= lr * (g[i] / (np.sqrt(v[i]) + eps))


def adam(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step_size: float,
    one_minus_beta1: float,
    beta2: float,
    one_minus_beta2: float,
    root_bias2: float,
    eps: float,
    floor: float,
) -> None:
    """m = m + (1 - β1)·(g - m);  v = β2·v + (1 - β2)·g²;
    p -= step_size·m / (√v / root_bias2 + ε).  A v below `floor` becomes 0."""
    for i in range(p.size):
        m[i] += one_minus_beta1 * (g[i] - m[i])
        v[i] = beta2 * v[i] + one_minus_beta2 * (g[i] * g[i])
        if v[i] < floor:
            v[i] = 0
        p[i] -= step_size * (m[i] / (np.sqrt(v[i]) / root_bias2 + eps))


@functools.cache
def compiled() -> SimpleNamespace:
    """`sgd`, `rmsprop` and `adam` compiled by numba; imports numba (ImportError without it).

    error_model="numpy": x/0 gives inf or nan, as in NumPy, instead of raising.
    cache=True: the machine code is kept beside this file, so later runs start fast.
    """
    import numba

    jit = numba.njit(error_model="numpy", cache=True)
    return SimpleNamespace(
        sgd=_typed(jit(sgd), 3), rmsprop=_typed(jit(rmsprop), 3), adam=_typed(jit(adam), 4)
    )


def _typed(loop: Callable[..., None], arrays: int) -> Callable[..., None]:
    """`loop`, called with its first `arrays` arguments flattened (views of C-ordered
    arrays: anything else is an error, never a silent copy that would lose the update)
    and its floats in the arrays' dtype: numba computes with a Python float in float64."""

    def rule(*args: Any) -> None:
        f = args[0].dtype.type
        scalars = [x if type(x) is bool else f(x) for x in args[arrays:]]
        loop(*[a.reshape(-1, copy=False) for a in args[:arrays]], *scalars)

    return rule
