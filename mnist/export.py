"""Export a trained MNIST model to ONNX: `python -m mnist.export --help`.

    python -m mnist.export --checkpoint mnist.npz --out mnist.onnx --verify

reads a checkpoint of `python -m mnist.train --save`, rebuilds its model (the MLP
or the CNN, of the width it was trained with) as `--resume` does, and writes it
with `nn.onnx.export`: one input "input" of any batch size, shaped as the model
takes images ((N, 784) pixels in [0, 1] for the MLP, (N, 1, 28, 28) for the CNN),
and one output "output" of (N, 10) logits. `--verify` then runs the file in ONNX
Runtime over the test set and prints the engine's accuracy, the runtime's, and
the largest difference between their logits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import autograd as ag
import nn
from autograd.optional import MissingDependency, optional_import
from mnist import data, options, train
from mnist.model import model_input

PROG = "python -m mnist.export"
EXAMPLE_BATCH = 2  # the example the model is recorded on; the file runs at any batch size
VERIFY_BATCH = 500
VERIFY_TOLERANCE = 1e-4  # --verify fails where a logit differs by more than this


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """The options, and the checkpoint read (all checked before any work)."""
    parser = options.ArgumentParser(
        prog=PROG,
        description="Export a checkpoint of python -m mnist.train to ONNX.",
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="CKPT", help="a checkpoint of mnist.train --save"
    )
    parser.add_argument("--out", required=True, metavar="FILE.onnx", help="the file to write")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="run the file in ONNX Runtime over the test set and compare it with the engine",
    )
    options.add_data_dir(parser)
    parser.add_argument(
        "--opset",
        type=int,
        help=f"the ONNX opset to write (default: the newest, {nn.onnx.DEFAULT_OPSET})",
    )
    args = parser.parse_args(argv)
    checkpoint = Path(args.checkpoint)
    if not checkpoint.is_file():
        what = "is a folder" if checkpoint.is_dir() else "no such file"
        parser.error(f"--checkpoint {checkpoint}: {what}")
    options.check_output(parser, "--out", args.out)
    if Path(args.out).resolve() == checkpoint.resolve():
        parser.error(f"--out {args.out}: is the checkpoint itself; give another path")
    libraries = ["onnx", "onnxruntime"] if args.verify else ["onnx"]
    for library in libraries:  # fail now, not after the work
        try:
            optional_import(library, extra="onnx" if library == "onnx" else None)
        except MissingDependency as error:
            parser.error(f"{error}" + (" (for --verify)" if library == "onnxruntime" else ""))
    try:
        nn.onnx.check_opset(args.opset)
    except (TypeError, ValueError) as error:
        parser.error(f"--opset: {error}")
    try:
        state = train.read_checkpoint(str(checkpoint), "--checkpoint")
    except train.CheckpointError as error:
        parser.error(str(error))
    return args, state


def verify(
    model: nn.Module, name: str, path: str, images: np.ndarray, labels: np.ndarray
) -> tuple[float, float, float]:
    """(the engine's accuracy, ONNX Runtime's, their largest logit difference) on `images`."""
    ort = optional_import("onnxruntime")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    right = {"engine": 0, "onnxruntime": 0}
    largest = 0.0
    model.eval()
    with ag.no_grad():
        for start in range(0, len(images), VERIFY_BATCH):
            x = model_input(name, images[start : start + VERIFY_BATCH])
            expected = model(ag.Tensor(x)).data
            (got,) = session.run(None, {"input": x})
            truth = labels[start : start + VERIFY_BATCH]
            right["engine"] += int((expected.argmax(axis=1) == truth).sum())
            right["onnxruntime"] += int((got.argmax(axis=1) == truth).sum())
            largest = max(largest, float(np.abs(got - expected).max()))
    return right["engine"] / len(images), right["onnxruntime"] / len(images), largest


def main(argv: Sequence[str] | None = None) -> int:
    args, state = parse_args(argv)
    try:
        model = train.trained_model(state, args.checkpoint, "--checkpoint")
    except train.CheckpointError as error:  # bad input, as a file that is no checkpoint
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    name = train.saved_option(state["config"], "model")
    example = model_input(name, np.zeros((EXAMPLE_BATCH, 28, 28), np.uint8))
    try:
        nn.onnx.export(model, example, args.out, opset=args.opset)
    except (nn.onnx.ExportError, OSError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: the {name.upper()} of {args.checkpoint}")
    if not args.verify:
        return 0
    try:
        images, labels = data.load("test", args.data_dir)
    except data.LOAD_ERRORS as error:
        print(f"{PROG}: error: --verify: {error}", file=sys.stderr)
        return 1
    engine, runtime, largest = verify(model, name, args.out, images, labels)
    print(f"engine accuracy       {engine:.2%}")
    print(f"onnxruntime accuracy  {runtime:.2%}")
    print(f"largest logit difference {largest:.3g}")
    if largest > VERIFY_TOLERANCE:
        print(
            f"{PROG}: error: --verify: the logits differ by {largest:.3g}, "
            f"more than {VERIFY_TOLERANCE:g}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
