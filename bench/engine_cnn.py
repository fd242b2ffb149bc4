"""The CNN workload on this project's engine: autograd and nn, as a user writes it.

nn.Sequential of nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout and
nn.Linear with the shared initial weights, nn.functional.cross_entropy and
nn.optim.RMSprop. Run: ``python -m bench.engine_cnn [--epochs 5]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if not __package__:  # run as `python bench/engine_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nn
from bench.engine_mlp import training
from bench.workload import (
    IMAGE,
    Data,
    Epoch,
    Params,
    example_cnn,
    init_cnn_params,
    main,
)


def model() -> nn.Sequential:
    return example_cnn(nn)


INIT = init_cnn_params  # the weights bench.run starts this variant from


def setup(data: Data, params: Params) -> Epoch:
    """An engine CNN starting from ``params``, trained by the MLP variant's loop, on what
    the install has: numba's compiled max-pooling and update rules where it is there."""
    return training(model(), params, data.x.reshape(-1, *IMAGE), data.y)


def setup_numpy(data: Data, params: Params) -> Epoch:
    """The same on NumPy's passes alone, as a default install runs it (AUTOGRAD_NUMBA=0)."""
    os.environ["AUTOGRAD_NUMBA"] = "0"
    return setup(data, params)


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
