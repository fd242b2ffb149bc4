"""Draw the MNIST model's loss graph: `python -m mnist.graph --out graph.svg`.

The picture is the graph autograd records for the cross-entropy loss of
Linear(784, 512)-ReLU-Linear(512, 10) (`--model mlp`) or of the CNN (`--model cnn`,
in training mode, so its Dropout node shows) on one batch, drawn by `ag.draw_graph`
with the parameters named as in `model.named_parameters()`. The file's ending
picks the format: .svg, .png and .pdf are rendered by Graphviz's `dot`
program, .dot is the DOT source (no Graphviz needed). Where `dot` is missing,
the DOT source is written next to the requested file (same name, ending .dot),
with how to install Graphviz, and the exit status is 1.

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
        "--out", required=True, type=Path, help=f"file to write, ending in {', '.join(FORMATS)}"
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
    if args.out.suffix.lower() not in FORMATS:
        parser.error(f"--out must end in one of {', '.join(FORMATS)}, got {str(args.out)!r}")
    if args.out.is_dir():
        parser.error(f"--out {args.out}: is a folder; give the path of a file")
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
    x = ag.Tensor(model_input(args.model, images))
    with ag.retain_grads() if args.show_values else contextlib.nullcontext():
        loss = nn.functional.cross_entropy(model(x), labels)
        if args.show_values:  # every node keeps its value and its gradient to show
            loss.backward()
    graph = ag.draw_graph(loss, dict(model.named_parameters()), show_values=args.show_values)

    out: Path = args.out
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
