"""Layers: Linear and Conv2d, and the parameter-free ReLU, Flatten, LogSoftmax,
MaxPool2d, AvgPool2d and Dropout."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd import Tensor
from nn import functional as F
from nn import init
from nn.dropout import check_probability
from nn.module import Module
from nn.parameter import Parameter
from nn.windows import pair


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features).

    Initialised as PyTorch does: weight and bias from U(-1/√in_features,
    1/√in_features), drawn from `rng` (weight first), in `dtype` (float32).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = rng if rng is not None else np.random.default_rng()
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        init.uniform_(self.weight, -bound, bound, rng=rng)
        self.bias = None
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Flatten(Module):
    """Joins the axes start_dim..end_dim into one: (N, 28, 28) -> (N, 784) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        joined = math.prod(x.shape[start : end + 1])  # not -1: an empty batch has no size to infer
        return x.reshape(x.shape[:start] + (joined,) + x.shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class LogSoftmax(Module):
    """log softmax(x) along `axis`."""

    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Conv2d(Module):
    """2-D convolution of (N, in_channels, H, W) inputs: `nn.functional.conv2d`.

    `weight` is (out_channels, in_channels, kh, kw) and `bias` (out_channels,), as in
    PyTorch, so a PyTorch Conv2d's state dict loads unchanged. Initialised as PyTorch
    does: weight by kaiming_uniform_ with a = √5 and bias from U(±1/√fan_in), both
    bounded by 1/√fan_in with fan_in = in_channels·kh·kw; drawn from `rng` (weight
    first), in `dtype` (float32).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "Conv2d", "kernel_size", 1)
        self.stride = pair(stride, "Conv2d", "stride", 1)
        self.padding = pair(padding, "Conv2d", "padding", 0)
        rng = rng if rng is not None else np.random.default_rng()
        self.weight = Parameter(
            np.empty((out_channels, in_channels, *self.kernel_size), dtype=dtype)
        )
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        self.bias = None
        if bias:
            bound = 1 / math.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


class _Pool2d(Module):
    """What MaxPool2d and AvgPool2d share: the geometry of their windows."""

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of every window: `nn.functional.max_pool2d`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of every window: `nn.functional.avg_pool2d`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Dropout(Module):
    """Zeroes each element with probability p and scales the rest by 1/(1 - p) in
    training mode (`.training`, set by `train()` and `eval()`); the identity in eval mode.

    The masks are drawn from `self.rng`, a NumPy Generator (a fresh unseeded one
    unless `rng` is given). Assign a seeded one to repeat them: `python -m mnist.train`
    gives each Dropout, before every step, a generator seeded from (seed, epoch, step,
    layer), so a step's masks depend only on where the run is, and a resumed run
    draws exactly the masks of an uninterrupted one.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None):
        super().__init__()
        check_probability("Dropout", p)
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
