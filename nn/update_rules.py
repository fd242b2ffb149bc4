"""The optimizers' update rules, one element at a time, compiled by numba.

Each rule is a loop that reads and writes every element once. Written as NumPy
operations, the same rule makes one pass over memory per operation (nine for
RMSprop), and on a large weight those passes take more time than the matrix
products around them. numba compiles each loop to machine code, with SIMD, on
its first call for each dtype; `NUMBA_DISABLE_JIT=1` runs them as the plain
Python they are, e.g. to step through one in a debugger.

The loops take flat, C-ordered arrays of one dtype and scalars of that dtype,
so float32 parameters are updated in float32 arithmetic, one rounding per
operation in PyTorch's order (lr is applied after the division, as in its
`addcdiv`).
"""

from __future__ import annotations

import numba
import numpy as np

# error_model="numpy": x/0 gives inf or nan, as in NumPy, instead of raising.
# cache=True: compiled code is kept beside this file, so later runs start fast.
_compile = numba.njit(error_model="numpy", cache=True)


@_compile
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


@_compile
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
        v_i = alpha * v[i] + one_minus_alpha * (g[i] * g[i])
        if v_i < floor:
            v_i = np.float32(0)  # not 0: numba would then make v_i a float64
        v[i] = v_i
        p[i] -= lr * (g[i] / (np.sqrt(v_i) + eps))


@_compile
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
        m_i = m[i] + one_minus_beta1 * (g[i] - m[i])
        v_i = beta2 * v[i] + one_minus_beta2 * (g[i] * g[i])
        if v_i < floor:
            v_i = np.float32(0)  # not 0: numba would then make v_i a float64
        m[i] = m_i
        v[i] = v_i
        p[i] -= step_size * (m_i / (np.sqrt(v_i) / root_bias2 + eps))
