"""Max-pooling one window at a time: the definition, as loops that numba compiles.

nn.pooling computes max_pool2d and its VJP as whole-array NumPy passes, several per
offset of the window. Where numba is installed (the `numba` extra) and the array is
float32 or float64, these loops run instead, compiled on the first call for each
dtype and cached beside this file: one pass over the input, each window's elements
in turn. On the CNN's first pooling, (128, 32, 26, 26) float32 with cold caches, they
take 0.8-1.2 ms against NumPy's 1.7-1.8 for the forward and 0.8-0.9 against 1.8 for
the VJP.

Both give the same values, the same winners included: a window's first maximum, its
last NaN where it holds NaNs (nn.pooling.MaxPool2d). Two differences in the bits only:
where a window holds several NaNs, its maximum is the last NaN here and the first in
NumPy; and where a negative gradient meets an element that is not its window's
maximum, NumPy's product writes -0.0 and the loop 0.0 (as PyTorch).

Arrays are (C, H, W, N), batch last (see nn.windows); xp is the padded input, winner
holds each window's offset k = u·kw + v. Called directly, these functions run as plain
Python, slowly: that is the way to step through them in a debugger.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np


def max_and_winner(
    xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, best: np.ndarray, winner: np.ndarray
) -> None:
    """best[c, i, j, n] = the maximum of window (i, j); winner[c, i, j, n] = where it is."""
    channels, rows, cols, batch = best.shape
    for c in range(channels):
        for i in range(rows):
            for j in range(cols):
                for n in range(batch):
                    best[c, i, j, n] = xp[c, sh * i, sw * j, n]
                    winner[c, i, j, n] = 0
                for k in range(1, kh * kw):
                    u, v = k // kw, k % kw
                    for n in range(batch):
                        value = xp[c, sh * i + u, sw * j + v, n]
                        # strictly larger: a tie keeps the first; a NaN (value != value) wins
                        if value > best[c, i, j, n] or value != value:
                            best[c, i, j, n] = value
                            winner[c, i, j, n] = k


def route(
    g: np.ndarray,
    winner: np.ndarray,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    dxp: np.ndarray,
    overlap: bool,
) -> None:
    """Each window's gradient g[c, i, j, n] written at its winner in dxp and 0 at the
    window's other elements; where windows overlap, added instead (dxp holds zeros)."""
    channels, rows, cols, batch = g.shape
    for c in range(channels):
        if overlap:  # offset by offset, as NumPy adds them, so that the sums round alike
            for k in range(kh * kw):
                u, v = k // kw, k % kw
                for i in range(rows):
                    for j in range(cols):
                        for n in range(batch):
                            share = g[c, i, j, n] if winner[c, i, j, n] == k else 0.0
                            dxp[c, sh * i + u, sw * j + v, n] += share
        else:  # window by window: each element is written once
            for i in range(rows):
                for j in range(cols):
                    for k in range(kh * kw):
                        u, v = k // kw, k % kw
                        for n in range(batch):
                            share = g[c, i, j, n] if winner[c, i, j, n] == k else 0.0
                            dxp[c, sh * i + u, sw * j + v, n] = share


@functools.cache
def compiled() -> SimpleNamespace:
    """`max_and_winner` and `route` compiled by numba; imports numba (ImportError
    without it). cache=True: the machine code is kept beside this file; nogil=True:
    other threads run while a loop does (it touches only the arrays it is given)."""
    import numba

    jit = numba.njit(cache=True, nogil=True)
    return SimpleNamespace(max_and_winner=jit(max_and_winner), route=jit(route))
