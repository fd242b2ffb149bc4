"""The CNN workload on this project's engine: autograd and nn, as a user writes it.

nn.Sequential of nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten, nn.Dropout and
nn.Linear with the shared initial weights, nn.functional.cross_entropy and
nn.optim.RMSprop. Run: ``python -m bench.engine_cnn [--epochs 5]``.
"""

from __future__ import annotations

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
    """An engine CNN starting from ``params``, trained by the MLP variant's loop."""
    return training(model(), params, data.x.reshape(-1, *IMAGE), data.y)


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
