"""The CNN workload in PyTorch eager on the CPU (skipped when torch is not installed).

The same layers with the shared initial weights, F.cross_entropy and
torch.optim.RMSprop; batches are gathered by tensor indexing, as in the other
variants. Run: ``python -m bench.torch_cnn [--epochs 5]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as `python bench/torch_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.torch_mlp import import_torch, training
from bench.workload import (
    IMAGE,
    Data,
    Epoch,
    Params,
    example_cnn,
    init_cnn_params,
    main,
)

INIT = init_cnn_params  # the weights bench.run starts this variant from


def setup(data: Data, params: Params) -> Epoch:
    """A PyTorch CNN starting from ``params``, trained by the MLP variant's loop."""
    torch, nn = import_torch()
    model = example_cnn(nn)
    return training(torch, model, params, data.x.reshape(-1, *IMAGE), data.y)


if __name__ == "__main__":
    main(setup, __doc__.splitlines()[0], INIT)
