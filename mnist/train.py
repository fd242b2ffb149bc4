"""Train the MNIST model: `python -m mnist.train --help`.

Linear(784, 512)-ReLU-Linear(512, 10) with softmax cross-entropy, pixels in
[0, 1] as float32, a new shuffle every epoch drawn from `--seed`, and a
learning rate that decays along a half cosine over the run. Same seed, same
numbers: the initial weights and every epoch's order come from the seed alone,
so a run resumed from a checkpoint ends exactly where an uninterrupted one does.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import autograd as ag
import nn
from mnist import data
from mnist.curves import FORMATS, plot_training_curves
from mnist.model import flatten_images, mlp

OPTIMIZERS = {"sgd": nn.optim.SGD, "rmsprop": nn.optim.RMSprop, "adam": nn.optim.Adam}
DEFAULTS = {  # each optimizer's own defaults
    "sgd": {"lr": 0.05, "momentum": 0.9},
    "rmsprop": {"lr": 2e-3},
    "adam": {"lr": 1e-3},
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mnist.train",
        description="Train Linear(784, hidden)-ReLU-Linear(hidden, 10) on MNIST.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        help="folder with the four MNIST IDX files "
        "(default: $MNIST_DATA, else a user cache folder, downloaded when missing)",
    )
    parser.add_argument("--epochs", type=positive_int, default=5)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="rmsprop")
    parser.add_argument(
        "--lr",
        type=float,
        help="peak learning rate; None takes the optimizer's own: "
        + ", ".join(f"{d['lr']:g} for {name}" for name, d in DEFAULTS.items())
        + " (sgd with momentum 0.9)",
    )
    parser.add_argument(
        "--schedule",
        choices=["cosine", "constant"],
        default="cosine",
        help="learning rate over the run: half-cosine decay to 0, or constant",
    )
    parser.add_argument("--hidden", type=positive_int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--save", metavar="PATH", help="write a checkpoint (.npz) after every epoch"
    )
    parser.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    parser.add_argument("--metrics", metavar="PATH", help="write per-epoch metrics as JSON")
    parser.add_argument(
        "--plot", metavar="FILE.png", help="draw loss and accuracy curves (.png, .svg or .pdf)"
    )
    args = parser.parse_args(argv)
    if args.plot and Path(args.plot).suffix.lstrip(".").lower() not in FORMATS:
        parser.error(f"--plot {args.plot}: the file must end in .png, .svg or .pdf")
    for option in ("save", "metrics", "plot"):  # fail now, not after an epoch of training
        path = getattr(args, option)
        if path and not Path(path).resolve().parent.is_dir():
            parser.error(f"--{option} {path}: the folder {Path(path).parent} does not exist")
    return args


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


class Trainer:
    """The model, its optimizer and where the run stands: all a checkpoint holds."""

    def __init__(self, args: argparse.Namespace, train_size: int):
        self.args = args
        self.model = mlp(args.hidden, np.random.default_rng(args.seed))
        options = dict(DEFAULTS[args.optimizer])
        if args.lr is not None:
            options["lr"] = args.lr
        self.peak_lr = options["lr"]
        self.optimizer = OPTIMIZERS[args.optimizer](self.model.parameters(), **options)
        self.steps_per_epoch = math.ceil(train_size / args.batch_size)
        self.epoch, self.step = 0, 0  # epochs completed, batches done in the current one
        self.loss_sum, self.seconds = 0.0, 0.0  # of the current epoch so far
        self.history: list[dict[str, Any]] = []

    def learning_rate(self) -> float:
        """The rate for the next batch: half-cosine from the peak to 0 over the run."""
        if self.args.schedule == "constant":
            return self.peak_lr
        done = (self.epoch * self.steps_per_epoch + self.step) / (
            self.args.epochs * self.steps_per_epoch
        )
        return self.peak_lr * 0.5 * (1 + math.cos(math.pi * done))

    def order(self, n: int) -> np.ndarray:
        """This epoch's shuffle, a function of the seed and the epoch only."""
        return np.random.default_rng([self.args.seed, self.epoch]).permutation(n)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.optimizer.lr = self.learning_rate()
        loss = nn.functional.cross_entropy(self.model(ag.Tensor(x)), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return loss.item()

    def state_dict(self) -> dict[str, Any]:
        history = {
            key: np.array([h[key] for h in self.history], dtype=np.float64)
            for key in ("train_loss", "test_accuracy", "seconds")
        }
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": {
                "epoch": np.int64(self.epoch),
                "step": np.int64(self.step),
                "loss_sum": np.float64(self.loss_sum),
                "seconds": np.float64(self.seconds),
            },
            "history": history,
            "config": {key: np.asarray(value) for key, value in self.config().items()},
        }

    def config(self) -> dict[str, Any]:
        """The options a resumed run must share with the run that saved the checkpoint."""
        a = self.args
        return {
            "seed": a.seed,
            "batch_size": a.batch_size,
            "hidden": a.hidden,
            "limit": a.limit or 0,
            "optimizer": a.optimizer,
            "lr": self.peak_lr,
            "schedule": a.schedule,
            "epochs": a.epochs,
        }

    def load_state_dict(self, state: dict[str, Any], path: str) -> None:
        for key, given in self.config().items():
            saved = state["config"][key].item()
            if saved != given:
                option = "--" + key.replace("_", "-")
                raise SystemExit(
                    f"{path} was saved by a run with {option} {saved}, but this run has "
                    f"{option} {given}: pass {option} {saved} to resume it"
                )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        progress = state["progress"]
        self.epoch, self.step = int(progress["epoch"]), int(progress["step"])
        self.loss_sum, self.seconds = float(progress["loss_sum"]), float(progress["seconds"])
        h = state["history"]
        self.history = [
            {
                "epoch": i + 1,
                "train_loss": float(loss),
                "test_accuracy": float(acc),
                "seconds": float(sec),
            }
            for i, (loss, acc, sec) in enumerate(
                zip(h["train_loss"], h["test_accuracy"], h["seconds"])
            )
        ]


def accuracy(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 2000
) -> float:
    """The fraction of `images` whose largest logit is the label."""
    correct = 0
    with ag.no_grad():
        for start in range(0, len(images), batch_size):
            x = flatten_images(images[start : start + batch_size])
            logits = model(ag.Tensor(x)).data
            correct += int((logits.argmax(axis=1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


class StopRequested:
    """Turns the first Ctrl-C into a request to stop after the current batch."""

    def __init__(self):
        self.requested = False

    def __enter__(self) -> StopRequested:
        self.previous = signal.signal(signal.SIGINT, self._request)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self.previous)

    def _request(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once


def run(args: argparse.Namespace) -> Trainer:
    """Train as `args` say, printing one line per epoch; returns the trainer."""
    train_images, train_labels = data.load("train", args.data_dir)
    test_images, test_labels = data.load("test", args.data_dir)
    # images stay uint8 until a batch needs them: 60,000 float32 images would take 188 MB
    x_train, y_train = train_images[: args.limit], train_labels[: args.limit]
    trainer = Trainer(args, len(x_train))
    if args.resume:
        trainer.load_state_dict(nn.load(args.resume), args.resume)
        print(f"resumed from {args.resume} at epoch {trainer.epoch + 1}, batch {trainer.step}")

    with StopRequested() as stop:
        while trainer.epoch < args.epochs:
            order = trainer.order(len(x_train))
            bar = tqdm(
                total=trainer.steps_per_epoch,
                initial=trainer.step,
                desc=f"epoch {trainer.epoch + 1}/{args.epochs}",
                unit="batch",
                leave=False,
            )
            while trainer.step < trainer.steps_per_epoch and not stop.requested:
                batch = order[trainer.step * args.batch_size : (trainer.step + 1) * args.batch_size]
                start = time.perf_counter()
                trainer.loss_sum += trainer.train_step(
                    flatten_images(x_train[batch]), y_train[batch]
                ) * len(batch)
                trainer.seconds += time.perf_counter() - start
                bar.update()
                seen = min(trainer.step * args.batch_size, len(x_train))
                bar.set_postfix(loss=f"{trainer.loss_sum / seen:.4f}", refresh=False)
            bar.close()
            if stop.requested:
                _save_and_explain_interrupt(trainer, args)
            trainer.history.append(
                {
                    "epoch": trainer.epoch + 1,
                    "train_loss": trainer.loss_sum / len(x_train),
                    "test_accuracy": accuracy(trainer.model, test_images, test_labels),
                    "seconds": trainer.seconds,
                }
            )
            trainer.epoch, trainer.step = trainer.epoch + 1, 0
            trainer.loss_sum, trainer.seconds = 0.0, 0.0
            h = trainer.history[-1]
            print(
                f"epoch {h['epoch']}/{args.epochs}  train loss {h['train_loss']:.4f}  "
                f"test accuracy {h['test_accuracy']:.2%}  {h['seconds']:.1f} s",
                flush=True,
            )
            if args.save:
                nn.save(trainer.state_dict(), args.save)
            if args.metrics:
                write_metrics(trainer.history, args.metrics)
            if args.plot:
                plot_training_curves(trainer.history, args.plot)
    return trainer


def _save_and_explain_interrupt(trainer: Trainer, args: argparse.Namespace) -> None:
    path = args.save or "mnist-interrupted.npz"
    nn.save(trainer.state_dict(), path)
    print(
        f"\nInterrupted in epoch {trainer.epoch + 1}, after batch {trainer.step}; "
        f"checkpoint saved to {path}.\nTo resume, run the same command with --resume {path}",
        file=sys.stderr,
    )
    raise SystemExit(130)


def write_metrics(history: list[dict[str, Any]], path: str) -> None:
    """The JSON of API.md: every epoch's numbers and the final test accuracy."""
    metrics = {"epochs": history, "test_accuracy": history[-1]["test_accuracy"]}
    nn.atomic_write(path, json.dumps(metrics, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trainer = run(args)
    except data.LOAD_ERRORS as error:
        print(f"python -m mnist.train: {error}", file=sys.stderr)
        return 1
    print(f"test accuracy {trainer.history[-1]['test_accuracy']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
