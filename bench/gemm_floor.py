"""The floor: only the five matrix products of each training step, into preallocated outputs.

forward x @ w1.T and h @ w2.T; backward dlogits @ w2, dlogits.T @ h and dz1.T @ x,
with the workload's shapes (the last batch is smaller): a bound that no
implementation multiplying with NumPy's BLAS can beat.
Run: ``python -m bench.gemm_floor``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/gemm_floor.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import BATCH, CLASSES, HIDDEN, Data, Epoch, Params, batch_order, main


def setup(data: Data, params: Params) -> Epoch:
    """Matrix products on real-valued operands; their values never change, so neither does speed."""
    w1, w2 = params["0.weight"].copy(), params["2.weight"].copy()
    xb = data.x[:BATCH].copy()
    h = np.empty((len(xb), HIDDEN), np.float32)
    dlogits = np.empty((len(xb), CLASSES), np.float32)
    dz1 = np.empty_like(h)
    dw1, dw2 = np.empty_like(w1), np.empty_like(w2)

    def epoch(seed: int) -> float:
        sizes = [len(idx) for idx in batch_order(len(data), seed)]
        start = time.perf_counter()
        for n in sizes:
            x, hn, dl, dz = xb[:n], h[:n], dlogits[:n], dz1[:n]
            np.matmul(x, w1.T, out=hn)
            np.matmul(hn, w2.T, out=dl)
            np.matmul(dl, w2, out=dz)
            np.matmul(dl.T, hn, out=dw2)
            np.matmul(dz.T, x, out=dw1)
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0])
