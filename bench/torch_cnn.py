"""The CNN workload in PyTorch eager on the CPU (skipped when torch is not installed).

The same layers with the shared initial weights, F.cross_entropy and
torch.optim.RMSprop; batches are gathered by tensor indexing, as in the other
variants. Run: ``python -m bench.torch_cnn [--epochs 5]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/torch_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    Unavailable,
    batch_order,
    init_cnn_params,
    main,
)

INIT = init_cnn_params  # the weights bench.run starts this variant from


def setup(data: Data, params: Params) -> Epoch:
    """A PyTorch CNN starting from ``params``, using every core this process may run on."""
    try:
        import torch
        import torch.nn.functional as F
        from torch import nn
    except ImportError as e:
        raise Unavailable(f"torch is not importable ({e})") from e

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    model = nn.Sequential(
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
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    x, y = torch.from_numpy(data.x.reshape(-1, *IMAGE)), torch.from_numpy(data.y)

    def epoch(seed: int) -> float:
        batches = [torch.from_numpy(idx) for idx in batch_order(len(y), seed)]
        start = time.perf_counter()
        for idx in batches:
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
