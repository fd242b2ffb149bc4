"""Three gradients of the MNIST model, compared: `python -m mnist.gradcheck`.

On a batch of real data in float64, for every parameter of
Linear(784, hidden)-ReLU-Linear(hidden, 10) (`--model mlp`) or of the CNN
(`--model cnn`, in eval mode: dropout is the identity there, as at test time)
with cross-entropy:

- autograd: `loss.backward()` through the engine;
- analytic: the chain rule written out by hand (`mnist.analytic`);
- numeric: central differences (L(p + ε) - L(p - ε)) / 2ε on a random sample
  of each parameter's elements.

It prints the largest absolute and relative difference of each pair per
parameter, and exits with status 1 when any pair is beyond its tolerance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import numpy as np

import autograd as ag
import nn
from mnist import analytic, data, options
from mnist.model import MODELS, build, model_input
from mnist.options import positive_int

# (atol, rtol) per pair: the analytic gradient is the same sums in another
# order; a central difference is exact only to about ε² and rounding / ε.
TOLERANCES = {"analytic": (1e-12, 1e-9), "numeric": (1e-7, 1e-5)}
# The function of mnist.analytic that derives each model's gradients: f(params, x, y).
BY_HAND = {"mlp": "loss_and_grads", "cnn": "cnn_loss_and_grads"}
EPS = {"mlp": 1e-6, "cnn": 1e-7}  # central differences' step, --eps


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = options.ArgumentParser(
        prog="python -m mnist.gradcheck",
        description="Compare autograd, hand-derived and finite-difference gradients.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=MODELS, default="mlp")
    options.add_data_dir(parser)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--hidden", type=positive_int, default=512, help="the MLP's width")
    parser.add_argument("--samples", type=positive_int, default=20, help="elements per parameter")
    parser.add_argument(
        "--eps",
        type=options.positive_float,
        help="step of the central differences: 1e-6 for the MLP, 1e-7 for the CNN, whose "
        "max-pools and ReLUs put a kink within 1e-6 of a sampled point now and then",
    )
    parser.add_argument("--seed", type=options.seed, default=0)
    return parser.parse_args(argv)


def differences(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The largest |a - b| and the largest |a - b| / max(|a|, |b|)."""
    gap = np.abs(a - b)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), np.finfo(np.float64).tiny)
    return float(gap.max()), float((gap / scale).max())


def within(a: np.ndarray, b: np.ndarray, pair: str) -> bool:
    atol, rtol = TOLERANCES[pair]
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        images, labels = data.load("train", args.data_dir)
    except data.LOAD_ERRORS as error:
        print(f"python -m mnist.gradcheck: {error}", file=sys.stderr)
        return 1
    x = model_input(args.model, images[: args.batch_size]).astype(np.float64)
    y = labels[: args.batch_size]
    rng = np.random.default_rng(args.seed)
    model = build(args.model, args.hidden, rng, dtype=np.float64).eval()

    def loss() -> ag.Tensor:
        return nn.functional.cross_entropy(model(ag.Tensor(x)), y)

    loss().backward()
    params = dict(model.named_parameters())
    derivation = getattr(analytic, BY_HAND[args.model])
    _, by_hand = derivation({k: p.data for k, p in params.items()}, x, y)

    eps = args.eps or EPS[args.model]
    print(f"batch of {len(x)} images, float64, {args.samples} sampled elements per parameter")
    print(f"{'parameter':<10} {'shape':<15} {'vs analytic: abs':>17} {'rel':>9} "
          f"{'vs numeric: abs':>16} {'rel':>9}")  # fmt: skip
    failed = []
    for name, p in params.items():
        auto = p.grad.data
        picks = rng.choice(p.size, size=min(args.samples, p.size), replace=False)
        numeric = np.array([central_difference(loss, p, i, eps) for i in picks])
        sampled = auto.reshape(-1)[picks]
        row = differences(auto, by_hand[name]) + differences(sampled, numeric)
        print(f"{name:<10} {str(p.shape):<15} {row[0]:>17.2e} {row[1]:>9.2e} "
              f"{row[2]:>16.2e} {row[3]:>9.2e}")  # fmt: skip
        if not within(auto, by_hand[name], "analytic"):
            failed.append(f"{name}: autograd vs analytic")
        if not within(sampled, numeric, "numeric"):
            failed.append(f"{name}: autograd vs numeric")
    if failed:
        print("beyond tolerance " + str(TOLERANCES) + ": " + "; ".join(failed), file=sys.stderr)
        return 1
    print("all gradients agree")
    return 0


def central_difference(
    loss: Callable[[], ag.Tensor], p: nn.Parameter, flat_index: int, eps: float
) -> float:
    """(L(p + ε) - L(p - ε)) / 2ε for one element of `p`."""
    view = p.data.reshape(-1)
    original = view[flat_index]
    with ag.no_grad():
        view[flat_index] = original + eps
        above = loss().item()
        view[flat_index] = original - eps
        below = loss().item()
    view[flat_index] = original
    return (above - below) / (2 * eps)


if __name__ == "__main__":
    sys.exit(main())
