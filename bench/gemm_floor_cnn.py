"""The CNN's floor: only the matrix products of each training step of the example CNN.

They are the products the engine computes (nn/conv.py: im2col's columns, batch last),
with the workload's shapes (the last batch is smaller), into preallocated outputs:
per convolution w @ cols and the weight's gradient g @ colsᵀ, for the second one also
the input's wᵀ @ g (the first layer's input needs none), and the linear layer's
forward and both gradients. No im2col, col2im, ReLU, pooling or optimizer: a bound
that no implementation multiplying with NumPy's BLAS can beat.
Run: ``python -m bench.gemm_floor_cnn``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/gemm_floor_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import BATCH, Data, Epoch, Params, batch_order, init_cnn_params, main

INIT = init_cnn_params  # the weights bench.run starts this variant from
POSITIONS = (26 * 26, 11 * 11)  # output positions per image of the two convolutions


def setup(data: Data, params: Params) -> Epoch:
    """Matrix products on real-valued operands; their values never change, so neither does speed."""
    rng = np.random.default_rng(0)
    w1, w2, w3 = (params[f"{k}.weight"] for k in (0, 3, 8))
    w1, w2 = w1.reshape(len(w1), -1), w2.reshape(len(w2), -1)
    cols1, cols2 = (
        rng.random((w.shape[1], p * BATCH), dtype=np.float32) for w, p in zip((w1, w2), POSITIONS)
    )
    flat = rng.random((BATCH, w3.shape[1]), dtype=np.float32)
    y1, y2 = (
        np.empty((len(w1), cols1.shape[1]), np.float32),
        np.empty((len(w2), cols2.shape[1]), np.float32),
    )
    dw1, dw2, dcols2 = np.empty_like(w1), np.empty_like(w2), np.empty_like(cols2)
    logits, dflat, dw3 = (
        np.empty((BATCH, len(w3)), np.float32),
        np.empty_like(flat),
        np.empty_like(w3),
    )

    def epoch(seed: int) -> float:
        sizes = [len(idx) for idx in batch_order(len(data), seed)]
        start = time.perf_counter()
        for n in sizes:
            m1, m2 = POSITIONS[0] * n, POSITIONS[1] * n
            np.matmul(w1, cols1[:, :m1], out=y1[:, :m1])  # forward
            np.matmul(w2, cols2[:, :m2], out=y2[:, :m2])
            np.matmul(flat[:n], w3.T, out=logits[:n])
            np.matmul(logits[:n], w3, out=dflat[:n])  # backward, the gradients as stand-ins
            np.matmul(logits[:n].T, flat[:n], out=dw3)
            np.matmul(w2.T, y2[:, :m2], out=dcols2[:, :m2])
            np.matmul(y2[:, :m2], cols2[:, :m2].T, out=dw2)
            np.matmul(y1[:, :m1], cols1[:, :m1].T, out=dw1)
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
