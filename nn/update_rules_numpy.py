"""The update rules of `nn.update_rules` on whole arrays, one NumPy pass per operation.

The optimizers use these where numba is not installed (or `AUTOGRAD_NUMBA=0`).
Each method does the operations of the rule of the same name in `nn.update_rules`,
which defines it, in the same order and in the arrays' dtype, so the results are
bit-identical to the compiled loops. What differs is how memory is walked: one pass
over the arrays per operation, each in place (`out=`) in the parameter or its state,
or in a scratch array that lives as long as the optimizer.
"""

from __future__ import annotations

import numpy as np


class NumpyRules:
    """`sgd`, `rmsprop` and `adam` with the arguments of `nn.update_rules`, and the
    scratch arrays they compute in, one per shape and dtype of parameter."""

    def __init__(self):
        self._scratch: dict[tuple[tuple[int, ...], np.dtype], np.ndarray] = {}

    def _scratch_like(self, p: np.ndarray) -> np.ndarray:
        key = p.shape, p.dtype
        if key not in self._scratch:
            self._scratch[key] = np.empty_like(p)
        return self._scratch[key]

    def sgd(
        self,
        p: np.ndarray,
        g: np.ndarray,
        buf: np.ndarray,
        lr: float,
        momentum: float,
        weight_decay: float,
        first_step: bool,
    ) -> None:
        d = g
        if weight_decay != 0:
            d = np.multiply(weight_decay, p, out=self._scratch_like(p))
            d += g  # d = g + weight_decay·p
        if momentum != 0:
            if first_step:
                np.copyto(buf, d)
            else:
                buf *= momentum
                buf += d  # buf = momentum·buf + d
            d = buf
        t = np.multiply(lr, d, out=self._scratch_like(p))
        p -= t

    def rmsprop(
        self,
        p: np.ndarray,
        g: np.ndarray,
        v: np.ndarray,
        lr: float,
        alpha: float,
        one_minus_alpha: float,
        eps: float,
        floor: float,
    ) -> None:
        t = np.multiply(g, g, out=self._scratch_like(p))
        t *= one_minus_alpha
        v *= alpha
        v += t  # v = α·v + (1 - α)·g²
        if floor:
            v[v < floor] = 0
        np.sqrt(v, out=t)
        t += eps
        np.divide(g, t, out=t)
        t *= lr
        p -= t  # p -= lr·(g / (√v + ε))

    def adam(
        self,
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
        t = np.subtract(g, m, out=self._scratch_like(p))
        t *= one_minus_beta1
        m += t  # m = m + (1 - β1)·(g - m)
        np.multiply(g, g, out=t)
        t *= one_minus_beta2
        v *= beta2
        v += t  # v = β2·v + (1 - β2)·g²
        if floor:
            v[v < floor] = 0
        np.sqrt(v, out=t)
        t /= root_bias2
        t += eps
        np.divide(m, t, out=t)
        t *= step_size
        p -= t  # p -= step_size·(m / (√v / root_bias2 + ε))
