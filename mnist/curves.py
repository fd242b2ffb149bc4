"""Training curves: loss, test accuracy and the training diagnostics per epoch, drawn
with matplotlib (the `plot` extra)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nn
from autograd.optional import optional_import

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FORMATS = ("png", "svg", "pdf")
HEALTHY_UPDATE_RATIO = 1e-3  # the update/data ratio practitioners aim near

# the diagnostics' panels: (metric, title, y-axis label, legend title, log scale)
DIAGNOSTIC_PANELS = (
    ("grad_norm", "Gradient norm", "‖grad‖", "layer", True),
    ("update_ratio", "Update/data ratio", "‖Δw‖ / ‖w‖ per step", "layer", True),
    ("dead_fraction", "Dead ReLU units", "fraction never positive", "ReLU", False),
    ("activation_mean", "ReLU outputs", "mean (solid), std (dashed)", "ReLU", False),
)


def plot_training_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """Write the curves of `history` (the trainer's per-epoch metrics) to `path`.

    Loss and accuracy come first; when the epochs carry diagnostics (see
    mnist.diagnostics), four more panels draw them, one line per layer or ReLU.
    The format follows the file's ending (.png, .svg, .pdf); the file is
    written atomically. Needs matplotlib: `pip install 'autograd-numpy[plot]'`.
    """
    matplotlib_figure = optional_import("matplotlib.figure", extra="plot")
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path}: a plot is written as .png, .svg or .pdf")
    epochs = [h["epoch"] for h in history]
    diagnosed = [h for h in history if "diagnostics" in h]
    rows = 2 if diagnosed else 1
    figsize = (13 if diagnosed else 9, 3.5 * rows)
    figure = matplotlib_figure.Figure(figsize=figsize, layout="constrained")
    panels = figure.subplots(rows, 3 if diagnosed else 2).flat
    loss, accuracy = panels[0], panels[1]
    loss.plot(epochs, [h["train_loss"] for h in history], marker="o")
    loss.set(xlabel="epoch", ylabel="train loss", title="Training loss", yscale="log")
    accuracy.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="o", color="C1")
    accuracy.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    for axes, panel in zip(panels[2:], DIAGNOSTIC_PANELS if diagnosed else ()):
        _plot_diagnostic(axes, diagnosed, *panel)
    for axes in panels:
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=120)
    nn.atomic_write(path, buffer.getvalue())


def _plot_diagnostic(
    axes: Axes,
    history: list[dict[str, Any]],
    metric: str,
    title: str,
    ylabel: str,
    legend: str,
    log: bool,
) -> None:
    """One line per module name of `metric` over the epochs that have it."""
    names = dict.fromkeys(name for h in history for name in h["diagnostics"][metric])
    for i, name in enumerate(names):
        kept = [h for h in history if name in h["diagnostics"][metric]]
        epochs = [h["epoch"] for h in kept]
        values = [h["diagnostics"][metric][name] for h in kept]
        axes.plot(epochs, values, marker="o", color=f"C{i}", label=name)
        if metric == "activation_mean":
            std = [h["diagnostics"]["activation_std"][name] for h in kept]
            axes.plot(epochs, std, marker="o", color=f"C{i}", linestyle="--")
    if metric == "update_ratio":
        axes.axhline(HEALTHY_UPDATE_RATIO, color="gray", linestyle="--", label="1e-3")
    axes.set(xlabel="epoch", ylabel=ylabel, title=title)
    if log and names:
        axes.set_yscale("log")
    if names:
        axes.legend(fontsize="small", title=legend)
