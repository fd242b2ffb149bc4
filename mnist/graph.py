"""Draw the MNIST model's loss graph: `python -m mnist.graph --out graph.svg`, and
step through its backward pass: `python -m mnist.graph --html backward.html`.

The picture is the graph autograd records for the cross-entropy loss of
Linear(784, 512)-ReLU-Linear(512, 10) (`--model mlp`) or of the CNN (`--model cnn`,
in training mode, so its Dropout node shows) on one batch, drawn by `ag.draw_graph`
with the parameters named as in `model.named_parameters()`. The file's ending
picks the format: .svg, .png and .pdf are rendered by Graphviz's `dot`
program, .dot is the DOT source (no Graphviz needed). Where `dot` is missing,
the DOT source is written next to the requested file (same name, ending .dot),
with how to install Graphviz, and the exit status is 1.

`--html FILE` writes the page of `ag.trace_backward` for the same loss: the graph,
and the gradients of every step of the backward pass, to step through in a browser
(see docs/backward-page.md). `--out` and `--html` may be given together or alone.

The batch is the first `--batch-size` images of the test split (see
`mnist.data.load`). If they cannot be loaded (no files, no network), a random
batch of the same shape is drawn instead, with a note saying so; `--random`
asks for one outright. The graph depends only on the batch's shape, so either
way the picture is the same, except for the values that `--show-values` adds.
Those repeat from run to run: the weights and the CNN's dropout masks are drawn
from one generator of fixed seed (`SEED`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

import graphviz
import numpy as np

import autograd as ag
import nn
from mnist import data, options
from mnist.model import MODELS, build, model_input

FORMATS = (".svg", ".png", ".pdf", ".dot")
SEED = 0  # of the weights and the dropout masks: the same file every run
INSTALL_GRAPHVIZ = (
    "install Graphviz (apt-get install graphviz, brew install graphviz or conda install graphviz)"
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = options.ArgumentParser(
        prog="python -m mnist.graph",
        description="Draw the MNIST model's loss graph on one batch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, help=f"picture to write, ending in {', '.join(FORMATS)}"
    )
    parser.add_argument(
        "--html",
        type=Path,
        help="page to write (ending in .html): step through the backward pass in a browser",
    )
    parser.add_argument("--model", choices=MODELS, default="mlp")
    parser.add_argument("--batch-size", type=options.positive_int, default=8)
    options.add_data_dir(parser)
    parser.add_argument(
        "--random", action="store_true", help="draw a random batch instead of MNIST images"
    )
    parser.add_argument(
        "--show-values",
        action="store_true",
        help="show the value and the gradient (min, mean, max) of every node",
    )
    args = parser.parse_args(argv)
    if args.out is None and args.html is None:
        parser.error("give --out FILE (the picture), --html FILE (the page) or both")
    if args.out is not None and args.out.suffix.lower() not in FORMATS:
        parser.error(f"--out must end in one of {', '.join(FORMATS)}, got {str(args.out)!r}")
    if args.html is not None and args.html.suffix.lower() not in (".html", ".htm"):
        parser.error(f"--html must end in .html or .htm, got {str(args.html)!r}")
    for option, path in (("--out", args.out), ("--html", args.html)):
        if path is not None and path.is_dir():
            parser.error(f"{option} {path}: is a folder; give the path of a file")
    return args


def batch(size: int, data_dir: str | None, random: bool) -> tuple[np.ndarray, np.ndarray]:
    """`size` test images (uint8 [N, 28, 28]) and labels, or random ones in their place."""
    if not random:
        try:
            images, labels = data.load("test", data_dir)
            return images[:size], labels[:size]
        except (OSError, ValueError) as error:
            print(
                f"note: drawing a random batch, MNIST could not be loaded: {error}", file=sys.stderr
            )
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (size, 28, 28), dtype=np.uint8), rng.integers(0, 10, size)


def _write(path: Path, content: bytes) -> None:
    """Write atomically, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nn.atomic_write(path, content)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    images, labels = batch(args.batch_size, args.data_dir, args.random)
    model = build(args.model, rng=np.random.default_rng(SEED))
    params = dict(model.named_parameters())
    x = ag.Tensor(model_input(args.model, images))
    trace = None
    with ag.retain_grads() if args.show_values else contextlib.nullcontext():
        loss = nn.functional.cross_entropy(model(x), labels)
        if args.html is not None:  # the page's backward pass is the one --show-values shows
            trace = ag.trace_backward(loss)
        elif args.show_values:  # every node keeps its value and its gradient to show
            loss.backward()
    status = 0
    if args.out is not None:
        graph = ag.draw_graph(loss, params, show_values=args.show_values)
        status = _write_picture(args.out, graph)
    if trace is not None:
        try:
            args.html.parent.mkdir(parents=True, exist_ok=True)
            trace.save_html(args.html, params)
        except graphviz.ExecutableNotFound:
            print(
                f"error: {args.html} not written: Graphviz's `dot` program, which draws the "
                f"page's graph, was not found on PATH. To write it, {INSTALL_GRAPHVIZ}, "
                "then run this again.",
                file=sys.stderr,
            )
            return 1
        print(f"wrote {args.html}")
    return status


def _write_picture(out: Path, graph: graphviz.Digraph) -> int:
    """Write the drawing to `out` in the format its ending names; 1 where `dot` is missing."""
    fmt = out.suffix.lower()[1:]
    if fmt == "dot":
        _write(out, graph.source.encode())
    else:
        try:
            _write(out, graph.pipe(format=fmt))
        except graphviz.ExecutableNotFound:
            source = out.with_suffix(".dot")
            _write(source, graph.source.encode())
            print(
                f"error: {out} not written: Graphviz's `dot` program was not found on PATH. "
                f"Wrote the DOT source to {source} instead. To render, {INSTALL_GRAPHVIZ}, "
                f"then run this again or `dot -T{fmt} {source} -o {out}`.",
                file=sys.stderr,
            )
            return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
