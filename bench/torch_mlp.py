"""The same model and loop in PyTorch eager on the CPU (skipped when torch is not installed).

nn.Linear layers with the shared initial weights, F.cross_entropy and
torch.optim.RMSprop; batches are gathered by tensor indexing, as in the other
variants (no DataLoader). Run: ``python -m bench.torch_mlp [--epochs 5]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as `python bench/torch_mlp.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import (
    ALPHA,
    CLASSES,
    EPS,
    HIDDEN,
    IN_FEATURES,
    LR,
    Data,
    Epoch,
    Params,
    Unavailable,
    batch_order,
    main,
)


def setup(data: Data, params: Params) -> Epoch:
    """A PyTorch model starting from ``params``, using every core this process may run on."""
    torch, nn = import_torch()
    model = nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    return training(torch, model, params, data.x, data.y)


def import_torch() -> tuple[Any, Any]:
    """torch and torch.nn, set to use every core this process may run on."""
    try:
        import torch
        from torch import nn
    except ImportError as e:
        raise Unavailable(f"torch is not importable ({e})") from e
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    return torch, nn


def training(torch: Any, model: Any, params: Params, x: np.ndarray, y: np.ndarray) -> Epoch:
    """Epochs of torch's RMSprop on (x, y) for the torch ``model``, starting from ``params``."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def epoch(seed: int) -> float:
        batches = [torch.from_numpy(idx) for idx in batch_order(len(y), seed)]
        start = time.perf_counter()
        for idx in batches:
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0])
