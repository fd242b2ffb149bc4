"""Per-op overhead: the engine against PyTorch eager on tiny (4, 4) tensors.

At this size the arithmetic costs nearly nothing, so the times are what a framework
spends per op: creating the result and its graph node, and walking it backward.
Each cell is the best of ``--repeat`` averages over ``--number`` calls, in
microseconds. Either side is skipped with a message when it is not importable; an
op the engine does not have yet is skipped on its own.
Run: ``python -m bench.per_op``.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OPS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda a, b, row: a + b,
    "add_bcast": lambda a, b, row: a + row,  # (4, 4) + (4,): the gradient sums over rows
    "mul": lambda a, b, row: a * b,
    "matmul": lambda a, b, row: a @ b,
    "exp": lambda a, b, row: a.exp(),
    "sum": lambda a, b, row: a.sum(),
    "relu": lambda a, b, row: a.relu(),
    "getitem": lambda a, b, row: a[1:3],
    "reshape": lambda a, b, row: a.reshape(2, 8),
}
SHAPE = (4, 4)


@dataclass(frozen=True)
class Framework:
    """How to make a leaf tensor that requires grad, and a gradient of ones for an output."""

    name: str
    leaf: Callable[[np.ndarray], Any]
    ones_like: Callable[[Any], Any]


def engine() -> Framework:
    """The project's engine, through its public interface (README)."""
    import autograd as ag

    tensor, Tensor = ag.tensor, ag.Tensor  # AttributeError while the engine lacks them
    return Framework(
        "engine",
        lambda a: tensor(a, requires_grad=True),
        lambda out: Tensor(np.ones(out.shape, np.float32)),
    )


def torch_eager() -> Framework:
    """PyTorch eager on the CPU."""
    import torch

    return Framework(
        "torch",
        lambda a: torch.tensor(a, requires_grad=True),
        torch.ones_like,
    )


def time_op(
    fw: Framework, op: Callable[[Any, Any, Any], Any], number: int, repeat: int
) -> tuple[float, float]:
    """Microseconds per call of the forward alone and of forward + backward."""
    rng = np.random.default_rng(0)
    a, b = (fw.leaf(rng.standard_normal(SHAPE).astype(np.float32)) for _ in range(2))
    row = fw.leaf(rng.standard_normal(SHAPE[-1:]).astype(np.float32))
    ones = fw.ones_like(op(a, b, row))

    def forward_backward() -> None:
        a.grad = b.grad = row.grad = None
        op(a, b, row).backward(ones)

    forward_backward()  # fails here, before timing, if the op or its backward is missing
    times = []
    for fn in (lambda: op(a, b, row), forward_backward):
        times.append(min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6)
    return tuple(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000, help="calls per measurement")
    parser.add_argument("--repeat", type=int, default=5, help="measurements; the best counts")
    args = parser.parse_args(argv)

    frameworks, notes = [], []
    for make in (engine, torch_eager):
        try:
            frameworks.append(make())
        except (ImportError, AttributeError) as e:
            notes.append(f"{make.__name__} skipped: {e}")

    print(f"microseconds per call on {SHAPE} float32 tensors (fwd: forward, f+b: with backward)")
    print(
        f"{'op':<8}"
        + "".join(f" {fw.name + ' fwd':>12} {fw.name + ' f+b':>12}" for fw in frameworks)
    )
    for name, op in OPS.items():
        row = f"{name:<8}"
        for fw in frameworks:
            try:
                row += "".join(f" {t:12.1f}" for t in time_op(fw, op, args.number, args.repeat))
            except Exception as e:  # an op the engine lacks yet: note it, go on with the rest
                row += f" {'-':>12} {'-':>12}"
                notes.append(f"{fw.name} {name} skipped: {type(e).__name__}: {e}")
        print(row)
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
