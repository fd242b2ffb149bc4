"""Optimizers: SGD, RMSprop and Adam, with PyTorch's update rules.

`step()` updates each parameter's array in place from its `.grad`, skipping
parameters whose grad is None. The update rules are defined element by element
in `nn.update_rules` and run in the parameter's dtype (float32 or float64), so a
float32 model keeps float32 state and a step allocates nothing. Where numba is
installed (the `numba` extra), the rules run as compiled loops, numba being
imported at an optimizer's first step; else, or with the environment variable
`AUTOGRAD_NUMBA=0` (read at the first step), as NumPy passes over whole arrays
(`nn.update_rules_numpy`). Both give bit-identical results. Gradient arrays are
only read, never changed. Hyperparameters are attributes (`opt.lr = 0.01`
changes the rate from the next step on).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autograd import Tensor
from nn import update_rules
from nn.compiled import compiled
from nn.update_rules_numpy import NumpyRules

FLUSH_EVERY = 32  # steps between two flushes of subnormals from running averages of g²


class Optimizer:
    """Holds the parameters and, per parameter, a step count and state buffers.

    Subclasses name their `hyperparameters` (attributes saved in `state_dict`)
    and their `buffers`, and implement `_update`. `rules` is the implementation
    of the update rules that the steps run, chosen at the first step.
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
        self.rules: Any = None  # compiled_rules() or NumpyRules(), from the first step on

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (`.grad = None`)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        if self.rules is None:
            self.rules = compiled_rules() or NumpyRules()
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            data = p.data
            if data.dtype.type not in (np.float32, np.float64) or not data.flags.writeable:
                raise TypeError(
                    f"{type(self).__name__}: parameter {i} must be a writeable float32 or "
                    f"float64 array to be updated in place; it is a "
                    f"{'' if data.flags.writeable else 'read-only '}{data.dtype} array"
                )
            work = np.asarray(data, order="C")  # data itself, unless laid out otherwise
            grad = np.asarray(p.grad.data, dtype=data.dtype, order="C")
            self.state[i]["step"] += 1
            self._update(work, grad, self.state[i])
            if work is not data:
                data[...] = work
            p.bump_version()  # a graph that saved p before this step can no longer use it

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        """Update `p` in place from its gradient `g` (C-ordered, of one dtype) with
        `self.rules`, passing the hyperparameters as Python floats."""
        raise NotImplementedError

    def _buffer(self, state: dict, name: str, p: np.ndarray) -> np.ndarray:
        """The state buffer `name`, zeros like `p` (C-ordered) when first asked for."""
        if name not in state:
            state[name] = np.zeros(p.shape, p.dtype)
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
                key: int(value) if key == "step" else np.array(value, p.dtype, order="C")
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

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        lr, momentum, weight_decay = float(self.lr), float(self.momentum), float(self.weight_decay)
        first_step = "momentum_buffer" not in state
        buf = self._buffer(state, "momentum_buffer", p) if momentum else np.empty(0, p.dtype)
        self.rules.sgd(p, g, buf, lr, momentum, weight_decay, first_step)


class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop (eps added after the square root), with its defaults:

    v = alpha·v + (1 - alpha)·grad²      (v starts at 0)
    p -= lr·grad / (√v + eps)
    """

    hyperparameters = ("lr", "alpha", "eps")
    buffers = ("square_avg",)

    def __init__(
        self, params: Iterable[Tensor], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8
    ):
        super().__init__(params)
        _check_at_least_zero(self, lr=lr, alpha=alpha, eps=eps)
        self.lr, self.alpha, self.eps = lr, alpha, eps

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        lr, alpha, eps = float(self.lr), float(self.alpha), float(self.eps)
        v = self._buffer(state, "square_avg", p)
        floor = _subnormal_floor(p.dtype, eps) if _flushes(state) else 0.0
        self.rules.rmsprop(p, g, v, lr, alpha, 1 - alpha, eps, floor)


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

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        lr, eps, t = float(self.lr), float(self.eps), state["step"]
        beta1, beta2 = map(float, self.betas)
        m = self._buffer(state, "exp_avg", p)
        v = self._buffer(state, "exp_avg_sq", p)
        floor = 0.0
        if _flushes(state):
            # the first step divides √v by the smallest √(1 - β2^t), so it decides the floor
            floor = _subnormal_floor(p.dtype, eps, 1 / math.sqrt(1 - beta2))
        step_size, root_bias2 = lr / (1 - beta1**t), math.sqrt(1 - beta2**t)
        self.rules.adam(p, g, m, v, step_size, 1 - beta1, beta2, 1 - beta2, root_bias2, eps, floor)


def compiled_rules() -> Any:
    """`nn.update_rules` compiled by numba; None where numba is not installed or
    `AUTOGRAD_NUMBA=0`, and, with a warning, where numba does not import."""
    return compiled(update_rules.compiled, "the optimizers run NumPy's update rules")


def _flushes(state: dict) -> bool:
    """Whether this step sets the subnormals of a running average of g² to 0."""
    return state["step"] % FLUSH_EVERY == 0


def _check_at_least_zero(optimizer: Optimizer, **values: float) -> None:
    for name, value in values.items():
        if not value >= 0:
            raise ValueError(f"{type(optimizer).__name__}: {name} must be >= 0, got {value}")


@functools.cache
def _subnormal_floor(dtype: np.dtype, eps: float, scale: float = 1.0) -> float:
    """Where a running average of g² is set to 0: below the smallest normal number.

    Where a gradient stops (border pixels), the average decays into the subnormals,
    on which √ runs several times slower, and never reaches 0 (0.9·v rounds back to
    v). Setting them to 0 changes no update as long as √v·scale + eps rounds to
    eps for every subnormal v, which holds for the usual eps; else nothing is set
    to 0 and the floor is 0. Every FLUSH_EVERY steps is enough: only a few values
    reach the subnormals per step, and in NumPy the flush costs two passes.
    """
    f = dtype.type
    tiny = np.finfo(dtype).smallest_normal
    return float(tiny) if f(math.sqrt(tiny) * scale) + f(eps) == f(eps) else 0.0
