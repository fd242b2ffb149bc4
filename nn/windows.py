"""Sliding windows over images: the geometry that convolution and pooling share.

A (kh, kw) window slides over the input padded by (ph, pw) on each side, in steps of
the stride (sh, sw): window (i, j) covers rows sh·i .. sh·i + kh - 1 and columns
sw·j .. sw·j + kw - 1 of the padded input, and there are

    Ho = (H + 2·ph - kh) // sh + 1,   Wo = (W + 2·pw - kw) // sw + 1

of them along each axis. Instead of copying every window out, the ops loop over
the kh·kw offsets (u, v) inside a window: `Windows.at(xp, u, v)` is a strided view
of shape (C, Ho, Wo, N) holding element (u, v) of every window at once.

The layout. The ops take and return (N, C, H, W) tensors, as PyTorch does, but
inside they work on (C, H, W, N) arrays, batch last: every such strided view then
reads rows of Wo·N contiguous numbers, and the matrix products of a convolution
come out in that order by themselves. `chwn` and `nchw` switch between the two
views of one array without copying it, so a layer hands the next one an (N, C, H, W)
view whose memory is already (C, H, W, N).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

Pair = tuple[int, int]


def chwn(x: np.ndarray) -> np.ndarray:
    """An (N, C, H, W) array as the (C, H, W, N) view of the same memory."""
    return x.transpose(1, 2, 3, 0)


def nchw(a: np.ndarray) -> np.ndarray:
    """A (C, H, W, N) array as the (N, C, H, W) view of the same memory."""
    return a.transpose(3, 0, 1, 2)


def pair(value: Any, op: str, name: str, least: int) -> Pair:
    """`value` (an int or two ints, each at least `least`) as a pair, or a clear error."""
    values = (value, value) if isinstance(value, (int, np.integer)) else value
    if (
        not isinstance(values, (tuple, list))
        or len(values) != 2
        or not all(isinstance(v, (int, np.integer)) for v in values)
    ):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(values) < least:
        kind = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {kind}, got {value!r}")
    return int(values[0]), int(values[1])


@dataclass(frozen=True)
class Windows:
    """Where the windows of one convolution or pooling lie on its input."""

    kernel: Pair
    stride: Pair
    padding: Pair
    in_size: Pair  # (H, W) of the input before padding
    out_size: Pair  # (Ho, Wo): windows along each axis

    @classmethod
    def over(cls, op: str, in_size: Pair, kernel: Any, stride: Any, padding: Any) -> Windows:
        """The windows of `kernel` over an input of `in_size`, checked."""
        kernel = pair(kernel, op, "kernel_size", 1)
        stride = pair(stride, op, "stride", 1)
        padding = pair(padding, op, "padding", 0)
        padded = tuple(n + 2 * p for n, p in zip(in_size, padding))
        if kernel[0] > padded[0] or kernel[1] > padded[1]:
            raise ValueError(
                f"{op}: the kernel {kernel} is larger than the padded input {padded} "
                f"(input {tuple(in_size)}, padding {padding})"
            )
        out = tuple((n - k) // s + 1 for n, k, s in zip(padded, kernel, stride))
        return cls(kernel, stride, padding, tuple(in_size), out)

    def offsets(self) -> Iterator[Pair]:
        """Every (u, v) inside a window, row by row."""
        for u in range(self.kernel[0]):
            for v in range(self.kernel[1]):
                yield u, v

    def at(self, xp: np.ndarray, u: int, v: int) -> np.ndarray:
        """Element (u, v) of every window of a padded (C, Hp, Wp, N) array: (C, Ho, Wo, N)."""
        (sh, sw), (ho, wo) = self.stride, self.out_size
        return xp[:, u : u + sh * (ho - 1) + 1 : sh, v : v + sw * (wo - 1) + 1 : sw]

    def inside(self, u: int, v: int) -> np.ndarray:
        """(Ho, Wo) booleans: whether element (u, v) of each window lies in the input
        rather than in its padding."""
        (sh, sw), (ph, pw), (h, w) = self.stride, self.padding, self.in_size
        rows, cols = sh * np.arange(self.out_size[0]) + u, sw * np.arange(self.out_size[1]) + v
        return ((ph <= rows) & (rows < ph + h))[:, None] & ((pw <= cols) & (cols < pw + w))

    def pad(self, x: np.ndarray, value: bool | int | float = 0) -> np.ndarray:
        """A (C, H, W, N) array with `padding` rows and columns of `value` on each side,
        as a contiguous array (copied only when it is padded or not contiguous)."""
        ph, pw = self.padding
        if ph == pw == 0:
            return np.ascontiguousarray(x)
        return np.pad(x, [(0, 0), (ph, ph), (pw, pw), (0, 0)], constant_values=value)

    def unpad(self, xp: np.ndarray) -> np.ndarray:
        """The inverse of `pad`: the input's own rows and columns of `xp`, as a view."""
        (ph, pw), (h, w) = self.padding, self.in_size
        return xp[:, ph : ph + h, pw : pw + w]

    def tile(self) -> bool:
        """True when the windows cover the padded input exactly, each element once."""
        (hp, wp), (ho, wo) = self.padded_size, self.out_size
        return self.kernel == self.stride and (hp, wp) == (self.kernel[0] * ho, self.kernel[1] * wo)

    @property
    def padded_size(self) -> Pair:
        """(Hp, Wp): the input's size with its padding."""
        (ph, pw), (h, w) = self.padding, self.in_size
        return h + 2 * ph, w + 2 * pw

    def zeros(self, c: int, n: int, dtype: np.dtype) -> np.ndarray:
        """Zeros the shape of the padded input, (C, Hp, Wp, N)."""
        (ph, pw), (h, w) = self.padding, self.in_size
        return np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dtype)
