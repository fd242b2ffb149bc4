"""The trainer's own CNN recipe, ``python -m mnist.train --model cnn``, on the engine
and in PyTorch eager on the CPU (skipped when torch is not installed).

The model of mnist.model.cnn: Conv2d(1, 32, 3)-ReLU-MaxPool2d(2)-Conv2d(32, 64, 3)-
ReLU-MaxPool2d(2)-Flatten-Dropout(0.1)-Linear(1600, 128)-ReLU-Dropout(0.1)-Linear(128, 10),
from the same initial weights; every image moved at random by up to one pixel along
each axis (mnist.augment.shift, NumPy's generator in both); the images kept as uint8
and scaled to [0, 1] one batch at a time; RMSprop with lr 2e-3 decaying along a half
cosine over a run of ``RUN_EPOCHS`` epochs, alpha 0.9, eps 1e-7; batch 128.

- ``setup_engine``: mnist.train's own Trainer (its augment and train_step, diagnostics
  every 50 batches included), as ``python -m mnist.train --model cnn`` runs each batch;
  without the progress bar and the test set's evaluation, which are not training.
- ``setup_torch``: the same recipe written in PyTorch.

Run: ``python -m bench.train_cnn [--epochs 2]`` (the engine), or through bench.run as
the variants ``engine-train-cnn`` and ``torch-train-cnn``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if not __package__:  # run as `python bench/train_cnn.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import time

import numpy as np

import mnist.model
import mnist.train
from bench.torch_mlp import import_torch
from bench.workload import Data, Epoch, Params, batch_order, main
from mnist import augment

RUN_EPOCHS = 5  # the length of run the learning rate's cosine spans (mnist.train's default)
LR, ALPHA, EPS, SHIFT = 2e-3, 0.9, 1e-7, 1


def init_params(seed: int = 0) -> Params:
    """The initial weights of mnist.model.cnn for `seed`, as mnist.train draws them."""
    model = mnist.model.cnn(np.random.default_rng(seed))
    return {name: p.data.copy() for name, p in model.named_parameters()}


INIT = init_params  # the weights bench.run starts these variants from


def images_of(data: Data) -> np.ndarray:
    """The images as mnist.train keeps them: uint8 [N, 28, 28] (data.x is k/255 exactly)."""
    return np.rint(data.x * 255).astype(np.uint8).reshape(-1, 28, 28)


def setup_engine(data: Data, params: Params) -> Epoch:
    """mnist.train's Trainer for the CNN, starting from ``params``."""
    args = mnist.train.parse_args(["--model", "cnn", "--epochs", str(RUN_EPOCHS)])
    trainer = mnist.train.Trainer(args, len(data))
    trainer.model.load_state_dict(params)
    images, labels = images_of(data), data.y

    def epoch(seed: int) -> float:
        trainer.step = 0
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # as mnist.train runs
            for idx in batch_order(len(labels), seed):
                batch = trainer.augment(images[idx])
                trainer.train_step(mnist.model.model_input("cnn", batch), labels[idx])
        seconds = time.perf_counter() - start
        trainer.epoch += 1
        return seconds

    return epoch


def setup_torch(data: Data, params: Params) -> Epoch:
    """The same recipe in PyTorch, starting from ``params``."""
    torch, nn = import_torch()
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(128, 10),
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    images, labels = images_of(data), torch.from_numpy(data.y)
    steps_per_epoch, done_epochs = math.ceil(len(data) / 128), [0]

    def epoch(seed: int) -> float:
        start = time.perf_counter()
        for step, idx in enumerate(batch_order(len(labels), seed)):
            done = (done_epochs[0] * steps_per_epoch + step) / (RUN_EPOCHS * steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = LR * 0.5 * (1 + math.cos(math.pi * done))
            rng = np.random.default_rng([seed, done_epochs[0], step])
            batch = augment.shift(images[idx], SHIFT, rng)
            x = torch.from_numpy(mnist.model.model_input("cnn", batch))
            loss = torch.nn.functional.cross_entropy(model(x), labels[torch.from_numpy(idx)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()  # as mnist.train reads every step's loss
        done_epochs[0] += 1
        return time.perf_counter() - start

    return epoch


if __name__ == "__main__":
    main(setup_engine, __doc__.splitlines()[0], INIT)
