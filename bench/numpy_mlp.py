"""Hand-written NumPy baseline: forward, backward and RMSprop by hand, in place.

Every array is float32 and allocated once in ``setup``; a step only writes into
them (``out=``, in-place operators). The last, smaller batch uses views of the
first rows. Run: ``python -m bench.numpy_mlp [--epochs 5] [--limit N]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/numpy_mlp.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import (
    ALPHA,
    BATCH,
    CLASSES,
    EPS,
    HIDDEN,
    IN_FEATURES,
    LR,
    Data,
    Epoch,
    Params,
    batch_order,
    main,
)

SMALLEST_NORMAL = np.finfo(np.float32).smallest_normal
FLUSH_EVERY = 32  # steps


def setup(data: Data, params: Params, flush_subnormals: bool = False) -> Epoch:
    """A NumPy model starting from ``params``.

    With ``flush_subnormals``, every FLUSH_EVERY steps the values of RMSprop's v below
    the smallest normal float32 become 0. Where the gradient of a weight stops (pixels
    that are almost always 0), v decays into the subnormals and stays there, since
    0.9 * v rounds back up to v for the smallest few, and sqrt of a subnormal is slow.
    The results do not change: for any v that small, sqrt(v) + eps rounds to eps.
    """
    x, y = data.x, data.y
    # out= would silently cast a float64 result down, so float32 must hold on the way in;
    # Python scalars (ALPHA, LR, n) keep float32 under NumPy 2's promotion rules.
    assert x.dtype == np.float32 and all(p.dtype == np.float32 for p in params.values())
    w1, b1, w2, b2 = (params[k].copy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    weights = [w1, b1, w2, b2]
    grads = [np.empty_like(p) for p in weights]
    dw1, db1, dw2, db2 = grads
    square_avg = [np.zeros_like(p) for p in weights]
    scratch = [np.empty_like(p) for p in weights]
    tiny = [np.empty(p.shape, bool) for p in weights]

    f32 = np.float32
    xb = np.empty((BATCH, IN_FEATURES), f32)
    yb = np.empty(BATCH, np.int64)
    h = np.empty((BATCH, HIDDEN), f32)
    active = np.empty((BATCH, HIDDEN), bool)
    probs = np.empty((BATCH, CLASSES), f32)
    row = np.empty((BATCH, 1), f32)
    dh = np.empty((BATCH, HIDDEN), f32)
    rows = np.arange(BATCH)

    def step(idx: np.ndarray) -> None:
        n = len(idx)
        xn, yn, hn, an, pn, rn, dhn = (a[:n] for a in (xb, yb, h, active, probs, row, dh))
        np.take(x, idx, axis=0, out=xn)
        np.take(y, idx, out=yn)

        # forward: h = relu(x @ w1.T + b1); logits = h @ w2.T + b2
        np.matmul(xn, w1.T, out=hn)
        hn += b1
        np.maximum(hn, 0, out=hn)
        np.matmul(hn, w2.T, out=pn)
        pn += b2
        # softmax over the logits, in place, shifted by the row max against overflow
        np.max(pn, axis=1, keepdims=True, out=rn)
        pn -= rn
        np.exp(pn, out=pn)
        np.sum(pn, axis=1, keepdims=True, out=rn)
        pn /= rn

        # backward: d(mean cross-entropy)/dlogits = (softmax - onehot(y)) / n
        pn[rows[:n], yn] -= 1
        pn /= n
        np.matmul(pn.T, hn, out=dw2)
        np.sum(pn, axis=0, out=db2)
        np.matmul(pn, w2, out=dhn)
        np.greater(hn, 0, out=an)  # relu'(z) = [z > 0] = [h > 0]
        dhn *= an
        np.matmul(dhn.T, xn, out=dw1)
        np.sum(dhn, axis=0, out=db1)

        # RMSprop: v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)
        for p, g, v, t in zip(weights, grads, square_avg, scratch, strict=True):
            v *= ALPHA
            np.multiply(g, g, out=t)
            t *= 1 - ALPHA
            v += t
            np.sqrt(v, out=t)
            t += EPS
            np.divide(g, t, out=t)
            t *= LR
            p -= t

    def flush() -> None:
        for v, small in zip(square_avg, tiny, strict=True):
            np.less(v, SMALLEST_NORMAL, out=small)
            v[small] = 0

    def epoch(seed: int) -> float:
        batches = batch_order(len(y), seed)
        start = time.perf_counter()
        for i, idx in enumerate(batches):
            step(idx)
            if flush_subnormals and i % FLUSH_EVERY == 0:
                flush()
        return time.perf_counter() - start

    return epoch


def setup_flush(data: Data, params: Params) -> Epoch:
    """The baseline with subnormals flushed from RMSprop's v."""
    return setup(data, params, flush_subnormals=True)


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0])
