"""Training curves: loss and test accuracy per epoch, drawn with matplotlib."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import nn

FORMATS = ("png", "svg", "pdf")


def plot_training_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """Write the curves of `history` (the trainer's per-epoch metrics) to `path`.

    The format follows the file's ending (.png, .svg, .pdf); the file is
    written atomically.
    """
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path}: a plot is written as .png, .svg or .pdf")
    epochs = [h["epoch"] for h in history]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss, accuracy = figure.subplots(1, 2)
    loss.plot(epochs, [h["train_loss"] for h in history], marker="o")
    loss.set(xlabel="epoch", ylabel="train loss", title="Training loss", yscale="log")
    accuracy.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="o", color="C1")
    accuracy.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    for axes in (loss, accuracy):
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=120)
    nn.atomic_write(path, buffer.getvalue())
