"""nn: modules, layers, losses, optimizers and checkpoints, built from autograd ops.

import nn
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
opt = nn.optim.RMSprop(model.parameters(), lr=1e-3)
loss = nn.functional.cross_entropy(model(x), labels)
opt.zero_grad(); loss.backward(); opt.step()
nn.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "checkpoint.npz")
nn.onnx.export(model, x, "model.onnx")  # to run elsewhere (the onnx extra)
"""

# isort: off
from nn.parameter import Parameter
from nn.module import Module

# isort: on
from autograd.files import atomic_write
from nn import functional, init, onnx, optim
from nn.containers import Sequential
from nn.layers import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
)
from nn.losses import CrossEntropyLoss, NLLLoss
from nn.serialization import load, save

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "atomic_write",
    "functional",
    "init",
    "onnx",
    "optim",
    "load",
    "save",
]
