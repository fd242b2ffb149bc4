"""The same model and loop on this project's engine: autograd and nn, as a user writes it.

nn.Sequential of nn.Linear and nn.ReLU with the shared initial weights,
nn.functional.cross_entropy and nn.optim.RMSprop; batches are gathered with
NumPy indexing, as in the other variants. `setup` runs the update rules the
install has (compiled where numba is installed), `setup_numpy` and `setup_numba`
choose them. Run: ``python -m bench.engine_mlp``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

if not __package__:  # run as `python bench/engine_mlp.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import autograd as ag
import nn
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
    """An engine model starting from ``params``."""
    model = nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    return training(model, params, data.x, data.y)


def training(model: nn.Module, params: Params, x: np.ndarray, y: np.ndarray) -> Epoch:
    """Epochs of the shared RMSprop on (x, y) for ``model``, starting from ``params``."""
    model.load_state_dict(params)
    optimizer = nn.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS)

    def epoch(seed: int) -> float:
        batches = batch_order(len(y), seed)
        start = time.perf_counter()
        for idx in batches:
            loss = nn.functional.cross_entropy(model(ag.Tensor(x[idx])), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    return epoch


def setup_numpy(data: Data, params: Params) -> Epoch:
    """The engine on NumPy's update rules, as a default install runs it (AUTOGRAD_NUMBA=0)."""
    os.environ["AUTOGRAD_NUMBA"] = "0"
    return setup(data, params)


def setup_numba(data: Data, params: Params) -> Epoch:
    """The engine on the update rules compiled by numba (the `numba` extra)."""
    if importlib.util.find_spec("numba") is None:
        raise Unavailable("numba is not installed: pip install 'autograd-numpy[numba]'")
    os.environ.pop("AUTOGRAD_NUMBA", None)
    return setup(data, params)


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0])
