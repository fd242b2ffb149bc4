"""Train the MNIST model: `python -m mnist.train --help`.

Linear(784, 512)-ReLU-Linear(512, 10) (`--model mlp`, the default) or the CNN of
mnist.model (`--model cnn`), with softmax cross-entropy, pixels in [0, 1] as
float32, a new shuffle every epoch drawn from `--seed`, and a learning rate that
decays along a half cosine over the run. Same seed, same numbers: the initial
weights, every epoch's order and every step's random shifts (`--shift`, the CNN's
augmentation) and dropout masks come from the seed alone, so a run resumed from a
checkpoint ends exactly where an uninterrupted one does. The test set is evaluated
in eval mode (no dropout), in chunks.

Nothing is lost: `--save` refuses to replace an existing file unless it is the
`--resume` checkpoint or `--overwrite` is given; Ctrl-C or SIGTERM finishes the
batch, saves and says how to resume; a loss that turns NaN or infinite stops
the run before it saves the diverged weights over the last good checkpoint.
"""

from __future__ import annotations

import argparse
import itertools
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
from autograd.optional import MissingDependency, optional_import
from mnist import augment, data, options
from mnist.curves import FORMATS, plot_training_curves
from mnist.diagnostics import Diagnostics, from_checkpoint
from mnist.model import MODELS, build, model_input
from mnist.options import positive_int

OPTIMIZERS = {"sgd": nn.optim.SGD, "rmsprop": nn.optim.RMSprop, "adam": nn.optim.Adam}
DIAGNOSTICS_EVERY = 50  # batches: sampled often enough to see, rarely enough to cost < 3%
DEFAULTS = {  # each optimizer's own defaults
    "sgd": {"lr": 0.05, "momentum": 0.9},
    "rmsprop": {"lr": 2e-3, "alpha": 0.9, "eps": 1e-7},  # the seed's, not PyTorch's
    "adam": {"lr": 1e-3},
}
SHIFT = {"mlp": 0, "cnn": 1}  # each model's own --shift
# MNIST's digits were scaled into a 20x20 box and centred in the 28x28 image, about 4
# blank pixels from each edge: shifts up to 4 keep them whole, larger ones cut strokes off
MAX_SHIFT = 4
HIDDEN = 512  # the MLP's width
BEFORE_CNN = {"model": "mlp", "shift": 0}  # the options of checkpoints that do not name them


PROG = "python -m mnist.train"
INTERRUPTED = "mnist-interrupted.npz"  # where Ctrl-C saves without --save or --resume
SIGNAL_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = options.ArgumentParser(
        prog=PROG,
        description="Train Linear(784, hidden)-ReLU-Linear(hidden, 10) or a CNN on MNIST.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model", choices=MODELS, default="mlp", help="the MLP or the CNN of mnist.model"
    )
    options.add_data_dir(parser)
    parser.add_argument("--epochs", type=positive_int, default=5)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="rmsprop")
    parser.add_argument(
        "--lr",
        type=options.positive_float,
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
    parser.add_argument(
        "--hidden",
        type=positive_int,
        help=f"the MLP's width; None takes {HIDDEN}; not for --model cnn",
    )
    parser.add_argument(
        "--shift",
        type=options.int_from(0, MAX_SHIFT),
        help="move each training image by up to this many pixels along each axis, at "
        "random; None takes the model's own: "
        + ", ".join(f"{n} for the {model}" for model, n in SHIFT.items())
        + f"; from 0 to {MAX_SHIFT}: the digits lie in a 20x20 box centred in the 28x28 "
        "image, so larger shifts would cut off their strokes",
    )
    parser.add_argument("--seed", type=options.seed, default=0)
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="write a checkpoint (.npz) after every epoch; an existing file is replaced "
        "only if it is the --resume checkpoint, or with --overwrite",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="let --save replace an existing file"
    )
    parser.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    parser.add_argument("--metrics", metavar="PATH", help="write per-epoch metrics as JSON")
    parser.add_argument(
        "--plot", metavar="FILE.png", help="draw loss and accuracy curves (.png, .svg or .pdf)"
    )
    parser.add_argument(
        "--diagnostics-every",
        type=int,
        default=DIAGNOSTICS_EVERY,
        metavar="K",
        help="record per-layer gradient norms, update ratios and ReLU statistics on every "
        "K-th batch (0: never)",
    )
    args = parser.parse_args(argv)
    if args.hidden is not None and args.model == "cnn":
        parser.error("argument --hidden: is the MLP's width; --model cnn has none")
    if args.hidden is None:
        args.hidden = HIDDEN  # kept in the CNN's checkpoints too, as before
    if args.diagnostics_every < 0:
        parser.error(f"--diagnostics-every must be 0 or more, got {args.diagnostics_every}")
    if args.plot and Path(args.plot).suffix.lstrip(".").lower() not in FORMATS:
        parser.error(f"--plot {args.plot}: the file must end in .png, .svg or .pdf")
    check_paths(parser, args)
    if args.plot:  # fail now, not after training: matplotlib comes with the `plot` extra
        try:
            optional_import("matplotlib.figure", extra="plot")
        except MissingDependency as error:
            parser.error(f"--plot: {error}")
    return args


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fail now, not after an epoch of training, on files that cannot be read or written,
    and never replace a file this run did not make (other than its own checkpoint)."""
    outputs = {"--save": args.save, "--metrics": args.metrics, "--plot": args.plot}
    for option, path in outputs.items():
        if path:
            options.check_output(parser, option, path)
    if args.resume:
        if not Path(args.resume).is_file():
            what = "is a folder" if Path(args.resume).is_dir() else "no such file"
            parser.error(f"--resume {args.resume}: {what}")
        # only --save may name the --resume checkpoint: it then goes on from where it was
        options.check_distinct(
            parser, {"--resume": args.resume, "--metrics": args.metrics, "--plot": args.plot}
        )
    options.check_distinct(parser, outputs)
    if args.save and Path(args.save).exists() and not args.overwrite and not _continues(args):
        parser.error(
            f"--save {args.save}: the file exists, perhaps another run's checkpoint; "
            f"add --resume {args.save} to continue it, --overwrite to replace it, "
            "or choose another path"
        )


def _continues(args: argparse.Namespace) -> bool:
    """Whether --save names the --resume checkpoint, to go on from where it was."""
    return bool(args.resume) and Path(args.save).resolve() == Path(args.resume).resolve()


class CheckpointError(ValueError):
    """A --resume file this run cannot continue from; the message names it and says why."""


class Diverged(ArithmeticError):
    """The training loss became NaN or infinite."""


CHECKPOINT_SECTIONS = ("model", "optimizer", "progress", "history", "config")


def read_checkpoint(path: str, option: str = "--resume") -> dict[str, Any]:
    """The checkpoint `--save` wrote at `path`, or CheckpointError saying why it is not
    one (naming the command line's `option` that gave the path)."""
    try:
        state = nn.load(path)
    except ValueError as error:  # empty, not an .npz, damaged, hostile: nn.load names it
        raise CheckpointError(f"{option}: {error}") from None
    missing = [key for key in CHECKPOINT_SECTIONS if not isinstance(state.get(key), dict)]
    if missing:
        flat = state and not any(isinstance(value, dict) for value in state.values())
        hint = " (it holds only arrays, like a model's state_dict saved alone)" if flat else ""
        raise CheckpointError(
            f"{option} {path}: not a checkpoint of {PROG} --save: it has no "
            f"{', '.join(missing)}{hint}"
        )
    return state


def saved_option(config: dict[str, Any], key: str) -> Any:
    """The value of option `key` a checkpoint's config holds (older ones hold no --model)."""
    return config[key].item() if key in config else BEFORE_CNN[key]


def trained_model(state: dict[str, Any], path: str, option: str = "--resume") -> nn.Module:
    """The model of `read_checkpoint(path)`, built as that run built it, with its
    trained weights; CheckpointError where it does not fit."""
    try:
        name = saved_option(state["config"], "model")
        model = build(name, saved_option(state["config"], "hidden"))
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, TypeError, AttributeError) as error:  # damaged, edited
        what = f"no entry {error}" if isinstance(error, KeyError) else _one_line(error)
        raise CheckpointError(f"{option} {path}: damaged checkpoint: {what}") from None
    return model


def _one_line(error: BaseException) -> str:
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


class Trainer:
    """The model, its optimizer and where the run stands: all a checkpoint holds."""

    def __init__(self, args: argparse.Namespace, train_size: int):
        self.args = args
        self.model = build(args.model, args.hidden, np.random.default_rng(args.seed))
        self.dropouts = [m for _, m in self.model.named_modules() if isinstance(m, nn.Dropout)]
        self.shift = SHIFT[args.model] if args.shift is None else args.shift
        options = dict(DEFAULTS[args.optimizer])
        if args.lr is not None:
            options["lr"] = args.lr
        self.peak_lr = options["lr"]
        self.optimizer = OPTIMIZERS[args.optimizer](self.model.parameters(), **options)
        self.steps_per_epoch = math.ceil(train_size / args.batch_size)
        self.epoch, self.step = 0, 0  # epochs completed, batches done in the current one
        self.loss_sum, self.seconds = 0.0, 0.0  # of the current epoch so far
        self.history: list[dict[str, Any]] = []
        self.diagnostics = Diagnostics(self.model, args.diagnostics_every)

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

    def step_seeds(self) -> list[np.random.SeedSequence]:
        """Seeds for this step's random draws, a function of the seed, the epoch and the
        step only: the first for the shifts, then one for each Dropout."""
        seed = np.random.SeedSequence([self.args.seed, self.epoch, self.step])
        return seed.spawn(1 + len(self.dropouts))

    def augment(self, images: np.ndarray) -> np.ndarray:
        """This step's batch of images, each shifted at random by up to `shift` pixels."""
        if not self.shift:
            return images
        return augment.shift(images, self.shift, np.random.default_rng(self.step_seeds()[0]))

    def seed_dropout(self) -> None:
        """Give every Dropout this step's generator."""
        for layer, seed in zip(self.dropouts, self.step_seeds()[1:]):
            layer.rng = np.random.default_rng(seed)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.optimizer.lr = self.learning_rate()
        self.seed_dropout()
        with self.diagnostics.watch(self.step):  # only looks, on every k-th step
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
        history["diagnostics"] = {
            str(h["epoch"]): h["diagnostics"] for h in self.history if "diagnostics" in h
        }
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "progress": {
                "epoch": np.int64(self.epoch),
                "step": np.int64(self.step),
                "loss_sum": np.float64(self.loss_sum),
                "seconds": np.float64(self.seconds),
                "diagnostics": self.diagnostics.state_dict(),
            },
            "history": history,
            "config": {key: np.asarray(value) for key, value in self.config().items()},
        }

    def config(self) -> dict[str, Any]:
        """The options a resumed run must share with the run that saved the checkpoint."""
        a = self.args
        return {
            "model": a.model,
            "seed": a.seed,
            "batch_size": a.batch_size,
            "hidden": a.hidden,
            "shift": self.shift,
            "limit": a.limit or 0,
            "optimizer": a.optimizer,
            "lr": self.peak_lr,
            "schedule": a.schedule,
            "epochs": a.epochs,
        }

    def load_state_dict(self, state: dict[str, Any], path: str) -> None:
        """Continue from `read_checkpoint(path)`; CheckpointError if it is another run's
        or does not fit."""
        try:
            self._check_config(state["config"], path)
            self._load_progress(state)
        except CheckpointError:
            raise
        except (KeyError, ValueError, TypeError, AttributeError) as error:  # damaged, edited
            what = f"no entry {error}" if isinstance(error, KeyError) else _one_line(error)
            raise CheckpointError(f"--resume {path}: damaged checkpoint: {what}") from None
        if not (0 <= self.epoch <= self.args.epochs and 0 <= self.step <= self.steps_per_epoch):
            raise CheckpointError(
                f"--resume {path}: its place, epoch {self.epoch + 1} batch {self.step}, is not "
                f"in a run of {self.args.epochs} epochs of {self.steps_per_epoch} batches"
            )

    def _check_config(self, config: dict[str, Any], path: str) -> None:
        for key, given in self.config().items():
            saved = saved_option(config, key)
            if saved != given:
                option = "--" + key.replace("_", "-")
                raise CheckpointError(
                    f"{path} was saved by a run with {option} {saved}, but this run has "
                    f"{option} {given}: pass {option} {saved} to resume it"
                )

    def _load_progress(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        progress = state["progress"]
        self.epoch, self.step = int(progress["epoch"]), int(progress["step"])
        self.loss_sum, self.seconds = float(progress["loss_sum"]), float(progress["seconds"])
        if "diagnostics" in progress:
            self.diagnostics.load_state_dict(progress["diagnostics"])
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
        for entry in self.history:
            saved = h.get("diagnostics", {}).get(str(entry["epoch"]))
            if saved is not None:
                entry["diagnostics"] = from_checkpoint(saved)


def accuracy(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, name: str, batch_size: int = 500
) -> float:
    """The fraction of `images` whose largest logit is the label, for the model called
    `name`, in eval mode and `batch_size` images at a time (a CNN's activations for
    all 10,000 test images would take gigabytes)."""
    correct = 0
    model.eval()
    with ag.no_grad():
        for start in range(0, len(images), batch_size):
            x = model_input(name, images[start : start + batch_size])
            logits = model(ag.Tensor(x)).data
            correct += int((logits.argmax(axis=1) == labels[start : start + batch_size]).sum())
    model.train()
    return correct / len(images)


class StopRequested:
    """Turns the first Ctrl-C (SIGINT) or SIGTERM into a request to stop after the
    current batch; a second one stops at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None  # the signal that asked to stop

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def __enter__(self) -> StopRequested:
        self.previous = {signum: signal.signal(signum, self._request) for signum in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _request(self, signum: int, frame: Any) -> None:
        self.signum = signum
        second = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, second)


def run(args: argparse.Namespace) -> Trainer:
    """Train as `args` say, printing one line per epoch; returns the trainer."""
    checkpoint = read_checkpoint(args.resume) if args.resume else None  # before any download
    train_images, train_labels = data.load("train", args.data_dir)
    test_images, test_labels = data.load("test", args.data_dir)
    # images stay uint8 until a batch needs them: 60,000 float32 images would take 188 MB
    x_train, y_train = train_images[: args.limit], train_labels[: args.limit]
    trainer = Trainer(args, len(x_train))
    if checkpoint is not None:
        trainer.load_state_dict(checkpoint, args.resume)
        print(f"resumed from {args.resume} at epoch {trainer.epoch + 1}, batch {trainer.step}")

    # NumPy's overflow warnings say less than the loss check below, which stops the run
    with StopRequested() as stop, np.errstate(over="ignore", invalid="ignore"):
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
                images = trainer.augment(x_train[batch])
                loss = trainer.train_step(model_input(args.model, images), y_train[batch])
                if not math.isfinite(loss):  # stop before anything saves the diverged weights
                    bar.close()
                    raise diverged(loss, trainer)
                trainer.loss_sum += loss * len(batch)
                trainer.seconds += time.perf_counter() - start
                bar.update()
                seen = min(trainer.step * args.batch_size, len(x_train))
                bar.set_postfix(loss=f"{trainer.loss_sum / seen:.4f}", refresh=False)
            bar.close()
            if stop.requested:
                _save_and_explain_interrupt(trainer, args, stop.signum)
            trainer.history.append(
                {
                    "epoch": trainer.epoch + 1,
                    "train_loss": trainer.loss_sum / len(x_train),
                    "test_accuracy": accuracy(trainer.model, test_images, test_labels, args.model),
                    "seconds": trainer.seconds,
                }
            )
            diagnostics = trainer.diagnostics.epoch_summary()
            if diagnostics is not None:
                trainer.history[-1]["diagnostics"] = diagnostics
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


def diverged(loss: float, trainer: Trainer) -> Diverged:
    """The error for a NaN or infinite `loss`: where it happened, and what to try."""
    args = trainer.args
    saved = args.save and Path(args.save).exists()
    kept = f"; {args.save} keeps the last good epoch" if saved else ""
    return Diverged(
        f"the training loss became {loss} in epoch {trainer.epoch + 1}, batch {trainer.step}: "
        f"the weights diverged; try a lower --lr than {trainer.peak_lr:g}{kept}"
    )


def interrupt_path(args: argparse.Namespace) -> str:
    """Where a stopped run saves: --save, else the --resume checkpoint (the same run goes
    on), else mnist-interrupted.npz, or mnist-interrupted-2.npz... if that is taken."""
    if args.save or args.resume:
        return args.save or args.resume
    taken = {Path(path).resolve() for path in (args.metrics, args.plot) if path}
    names = (INTERRUPTED.replace(".npz", f"-{n}.npz") for n in itertools.count(2))
    return next(
        path
        for path in itertools.chain([INTERRUPTED], names)
        if not Path(path).exists() and Path(path).resolve() not in taken
    )


def _save_and_explain_interrupt(trainer: Trainer, args: argparse.Namespace, signum: int) -> None:
    path = interrupt_path(args)
    nn.save(trainer.state_dict(), path)
    how = "Interrupted" if signum == signal.SIGINT else f"Stopped by {signal.Signals(signum).name}"
    print(
        f"\n{how} in epoch {trainer.epoch + 1}, after batch {trainer.step}; "
        f"checkpoint saved to {path}.\nTo resume, run the same command with --resume {path}",
        file=sys.stderr,
    )
    raise SystemExit(SIGNAL_STATUS[signum])


def write_metrics(history: list[dict[str, Any]], path: str) -> None:
    """The --metrics JSON of the public interface (README): every epoch's numbers and
    the final test accuracy."""
    metrics = {"epochs": history, "test_accuracy": history[-1]["test_accuracy"]}
    nn.atomic_write(path, json.dumps(metrics, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trainer = run(args)
    except (*data.LOAD_ERRORS, CheckpointError, Diverged) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except MemoryError as error:
        print(f"{PROG}: error: out of memory ({error}); try a smaller --hidden", file=sys.stderr)
        return 1
    print(f"test accuracy {trainer.history[-1]['test_accuracy']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
