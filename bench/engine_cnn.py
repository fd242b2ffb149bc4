"""The CNN workload on this project's engine: autograd and nn, as a user writes it.

nn.Sequential of nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout and
nn.Linear with the shared initial weights, nn.functional.cross_entropy and
nn.optim.RMSprop. Run: ``python -m bench.engine_cnn [--epochs 5]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/engine_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as ag
import nn
from bench.workload import (
    ALPHA,
    CLASSES,
    DROPOUT,
    EPS,
    IMAGE,
    LR,
    Data,
    Epoch,
    Params,
    batch_order,
    init_cnn_params,
    main,
)


def model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(DROPOUT),
        nn.Linear(64 * 5 * 5, CLASSES),
    )


INIT = init_cnn_params  # the weights bench.run starts this variant from


def setup(data: Data, params: Params) -> Epoch:
    """An engine CNN starting from ``params``."""
    cnn = model()
    cnn.load_state_dict(params)
    optimizer = nn.optim.RMSprop(cnn.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    x, y = data.x.reshape(-1, *IMAGE), data.y

    def epoch(seed: int) -> float:
        batches = batch_order(len(y), seed)
        start = time.perf_counter()
        for idx in batches:
            loss = nn.functional.cross_entropy(cnn(ag.Tensor(x[idx])), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
