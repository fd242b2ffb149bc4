"""Optimizers: SGD, RMSprop and Adam, with PyTorch's update rules.

`step()` updates each parameter's array in place from its `.grad`, skipping
parameters whose grad is None. The arithmetic runs in the parameter's dtype
with NumPy `out=` ufuncs into per-parameter buffers allocated at the first
step, so a float32 model keeps float32 state and a step allocates no
parameter-sized array. Gradient arrays are only read, never changed.
Hyperparameters are attributes (`opt.lr = 0.01` changes the rate from the
next step on).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autograd import Tensor


class Optimizer:
    """Holds the parameters and, per parameter, a step count and state buffers.

    Subclasses name their `hyperparameters` (attributes saved in `state_dict`)
    and their `buffers`, and implement `_update`.
    """

    hyperparameters: tuple[str, ...] = ()
    buffers: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor]):
        self.params = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name}: got an empty list of parameters; nothing to optimize")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{name}: parameter {i} is not a Tensor that requires grad")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{name}: a parameter appears more than once in the list")
        self.state: list[dict[str, Any]] = [{"step": 0} for _ in self.params]
        self._scratch: list[np.ndarray | None] = [None] * len(self.params)

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (`.grad = None`)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self._scratch[i] is None:
                self._scratch[i] = np.empty_like(p.data)
            self.state[i]["step"] += 1
            self._update(p.data, p.grad.data, self.state[i], self._scratch[i])

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, scratch: np.ndarray) -> None:
        """Update `p` in place from its gradient `g`; `scratch` is p-shaped workspace."""
        raise NotImplementedError

    @staticmethod
    def _flush_subnormals(state: dict, buffer: np.ndarray) -> None:
        """Every 32 steps, set the buffer's subnormal values to 0.

        A running average of g² decays towards 0 where the gradient stops (border
        pixels): its values sink into subnormals, which never reach 0 (0.9·v rounds
        back to v) and on which √ runs several times slower. Next to ε = 1e-7 a
        value below 1.2e-38 is 0, so no update changes.
        """
        if state["step"] % 32 == 0:
            buffer[buffer < np.finfo(buffer.dtype).smallest_normal] = 0

    def _buffer(self, state: dict, name: str, p: np.ndarray) -> np.ndarray:
        """The state buffer `name`, zeros like `p` when first asked for."""
        if name not in state:
            state[name] = np.zeros_like(p)
        return state[name]

    # ----- state -----
    def state_dict(self) -> dict[str, Any]:
        """{"hyperparameters": {name: value}, "state": {"0": {"step": n, buffer: array}, ...}}:
        copies, keyed by each parameter's position; `nn.save` can store it."""
        return {
            "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters},
            "state": {
                str(i): {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
                for i, s in enumerate(self.state)
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict()` (also after nn.save / nn.load): the next steps
        are bit-identical to those the saved optimizer would have taken. Raises a
        ValueError listing every mismatch, and changes nothing, if it does not fit."""
        name = type(self).__name__
        hyper, saved = dict(state["hyperparameters"]), dict(state["state"])
        problems = []
        if set(hyper) != set(self.hyperparameters):
            problems.append(
                f"hyperparameters {sorted(hyper)}, expected {list(self.hyperparameters)}"
            )
        if set(saved) != {str(i) for i in range(len(self.params))}:
            problems.append(
                f"state for parameters {sorted(saved)}, expected 0..{len(self.params) - 1}"
            )
        else:
            for i, p in enumerate(self.params):
                for key, value in saved[str(i)].items():
                    if key != "step" and key not in self.buffers:
                        problems.append(f"unknown buffer {key!r} for parameter {i}")
                    elif key != "step" and np.shape(value) != p.shape:
                        problems.append(
                            f"buffer {key!r} of parameter {i} has shape {np.shape(value)}, "
                            f"expected {p.shape}"
                        )
        if problems:
            raise ValueError(
                f"{name}.load_state_dict: the state does not fit\n  " + "\n  ".join(problems)
            )
        for key, value in hyper.items():
            value = np.asarray(value)
            setattr(self, key, float(value) if value.ndim == 0 else tuple(map(float, value)))
        self.state = [
            {
                key: int(value) if key == "step" else np.array(value, dtype=p.dtype)
                for key, value in saved[str(i)].items()
            }
            for i, p in enumerate(self.params)
        ]


class SGD(Optimizer):
    """Stochastic gradient descent, as torch.optim.SGD:

    g = grad + weight_decay·p
    buf = momentum·buf + g   (buf = g at the first step; only with momentum)
    p -= lr·buf              (lr·g without momentum)
    """

    hyperparameters = ("lr", "momentum", "weight_decay")
    buffers = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ):
        super().__init__(params)
        _check_at_least_zero(self, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, scratch: np.ndarray) -> None:
        lr, momentum, weight_decay = float(self.lr), float(self.momentum), float(self.weight_decay)
        if weight_decay:
            np.multiply(p, weight_decay, out=scratch)
            g = np.add(g, scratch, out=scratch)
        if momentum:
            if "momentum_buffer" in state:
                buf = state["momentum_buffer"]
                np.multiply(buf, momentum, out=buf)
                np.add(buf, g, out=buf)
            else:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)
            g = buf
        np.multiply(g, lr, out=scratch)
        np.subtract(p, scratch, out=p)


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop (eps added after the square root):

    v = alpha·v + (1 - alpha)·grad²      (v starts at 0)
    p -= lr·grad / (√v + eps)
    """

    hyperparameters = ("lr", "alpha", "eps")
    buffers = ("square_avg",)

    def __init__(
        self, params: Iterable[Tensor], lr: float = 1e-3, alpha: float = 0.9, eps: float = 1e-7
    ):
        super().__init__(params)
        _check_at_least_zero(self, lr=lr, alpha=alpha, eps=eps)
        self.lr, self.alpha, self.eps = lr, alpha, eps

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, scratch: np.ndarray) -> None:
        lr, alpha, eps = float(self.lr), float(self.alpha), float(self.eps)
        v = self._buffer(state, "square_avg", p)
        np.multiply(v, alpha, out=v)
        np.multiply(g, g, out=scratch)
        np.multiply(scratch, 1 - alpha, out=scratch)  # scaling in place: a cheap pass
        np.add(v, scratch, out=v)
        self._flush_subnormals(state, v)
        np.sqrt(v, out=scratch)
        np.add(scratch, eps, out=scratch)
        np.divide(g, scratch, out=scratch)
        np.multiply(scratch, lr, out=scratch)
        np.subtract(p, scratch, out=p)


class Adam(Optimizer):
    """Adam, as torch.optim.Adam, with t the parameter's step count:

    m = m + (1 - beta1)·(grad - m)       (= beta1·m + (1 - beta1)·grad)
    v = beta2·v + (1 - beta2)·grad²
    p -= lr·m̂ / (√v̂ + eps)  with m̂ = m / (1 - beta1^t), v̂ = v / (1 - beta2^t),
         computed as (lr / (1 - beta1^t))·m / (√v / √(1 - beta2^t) + eps)
    """

    hyperparameters = ("lr", "betas", "eps")
    buffers = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        super().__init__(params)
        beta1, beta2 = betas
        _check_at_least_zero(self, lr=lr, eps=eps)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.lr, self.betas, self.eps = lr, (beta1, beta2), eps

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, scratch: np.ndarray) -> None:
        lr, eps = float(self.lr), float(self.eps)
        beta1, beta2 = map(float, self.betas)
        t = state["step"]
        m = self._buffer(state, "exp_avg", p)
        v = self._buffer(state, "exp_avg_sq", p)
        np.subtract(g, m, out=scratch)
        np.multiply(scratch, 1 - beta1, out=scratch)
        np.add(m, scratch, out=m)
        np.multiply(v, beta2, out=v)
        np.multiply(g, g, out=scratch)
        np.multiply(scratch, 1 - beta2, out=scratch)
        np.add(v, scratch, out=v)
        self._flush_subnormals(state, v)
        np.sqrt(v, out=scratch)
        np.divide(scratch, math.sqrt(1 - beta2**t), out=scratch)
        np.add(scratch, eps, out=scratch)
        np.divide(m, scratch, out=scratch)
        np.multiply(scratch, lr / (1 - beta1**t), out=scratch)
        np.subtract(p, scratch, out=p)


def _check_at_least_zero(optimizer: Optimizer, **values: float) -> None:
    for name, value in values.items():
        if not value >= 0:
            raise ValueError(f"{type(optimizer).__name__}: {name} must be >= 0, got {value}")
