"""Where a CNN training step's time goes, op by op: ``python -m bench.cnn_breakdown``.

Trains the engine's CNN (bench/engine_cnn.py) for ``--steps`` batches with every
Function's forward and backward timed, exclusive of the ops they call (a conv2d's
backward calls its two VJP ops, which are timed as themselves), and the optimizer's
step timed apart. Prints milliseconds per step for each op and input shape, so the
two convolutions show apart, and what is left: the engine's own Python (graph
recording, the graph walk, module calls) and the batch's gathering.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

if not __package__:  # run as `python bench/cnn_breakdown.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as ag
import nn
from autograd import Function
from bench import engine_cnn
from bench.workload import IMAGE, add_data_args, batch_order, init_cnn_params, load

# What each op computes in the CNN's step, for the table.
ROLES = {
    ("Conv2d", "forward"): "conv2d forward (im2col, w @ cols)",
    ("ConvTranspose", "forward"): "conv2d VJP for x (wᵀ @ grad, col2im)",
    ("ConvWeightGrad", "forward"): "conv2d VJP for w (grad @ colsᵀ)",
    ("Conv2d", "backward"): "conv2d backward itself (bias: Σ grad)",
    ("MaxPool2d", "forward"): "max-pool forward",
    ("MaxPool2dGrad", "forward"): "max-pool VJP (route to the max)",
    ("Relu", "forward"): "relu forward",
    ("Mul", "forward"): "relu VJP (grad · mask)",
}


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@contextmanager
def timed_functions(totals: dict[tuple[str, str, str], float]) -> Iterator[None]:
    """Add the exclusive seconds of every Function's forward and backward to `totals`,
    keyed by (class, "forward" or "backward", shape of the first input)."""
    stack: list[float] = []  # seconds spent in nested calls, one entry per open call
    originals = []

    def wrap(cls: type, phase: str, method: Callable) -> Callable:
        def timed(node, *args, **kwargs):
            first = args[0] if args else None
            key = (cls.__name__, phase, str(getattr(first, "shape", "")))
            stack.append(0.0)
            start = time.perf_counter()
            try:
                return method(node, *args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                nested = stack.pop()
                totals[key] += elapsed - nested
                if stack:
                    stack[-1] += elapsed

        return staticmethod(timed)

    for cls in set(_subclasses(Function)):
        for phase in ("forward", "backward"):
            if phase in vars(cls):
                originals.append((cls, phase, vars(cls)[phase]))
                setattr(cls, phase, wrap(cls, phase, getattr(cls, phase)))
    try:
        yield
    finally:
        for cls, phase, method in originals:
            setattr(cls, phase, method)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(parser)
    parser.add_argument("--steps", type=int, default=100, help="batches to time")
    args = parser.parse_args(argv)
    data = load(args)
    model = engine_cnn.model()
    model.load_state_dict(init_cnn_params(args.seed))
    optimizer = nn.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    x, y = data.x.reshape(-1, *IMAGE), data.y
    batches = (batch_order(len(y), args.seed) * (args.steps // 400 + 2))[: args.steps + 5]

    def step(idx, totals) -> None:
        loss = nn.functional.cross_entropy(model(ag.Tensor(x[idx])), y[idx])
        optimizer.zero_grad()
        loss.backward()
        start = time.perf_counter()
        optimizer.step()
        totals[("optimizer", "step", "")] += time.perf_counter() - start

    warm: dict = defaultdict(float)
    for idx in batches[:5]:  # thread pools, caches, numba's compiled loops
        step(idx, warm)
    steps = len(batches) - 5
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for idx in batches[5:]:  # untimed: the step's own time, and what the kernel takes of it
        step(idx, warm)
    untimed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    system, user = after.ru_stime - before.ru_stime, after.ru_utime - before.ru_utime
    print(
        f"untimed: {1e3 * untimed / steps:.1f} ms per step, "
        f"{(after.ru_minflt - before.ru_minflt) / steps:.0f} page faults per step; "
        f"kernel (system) time {system / untimed:.1%} of the wall time and "
        f"{system / (system + user):.1%} of the CPU time (user {user / untimed:.0%} of the wall)"
    )
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    start = time.perf_counter()
    with timed_functions(totals):
        for idx in batches[5:]:
            step(idx, totals)
    total = time.perf_counter() - start

    print(f"{steps} steps of {len(batches[5])} images: {1e3 * total / steps:.1f} ms per step")
    print(f"{'op':<42} {'input shape':<20} {'ms/step':>8} {'share':>6}")
    rows = sorted(totals.items(), key=lambda item: -item[1])
    small = sum(seconds for _, seconds in rows if seconds < 0.005 * total)
    rows = [(ROLES.get(key[:2], f"{key[0]} {key[1]}"), key[2], s) for key, s in rows]
    rows = [row for row in rows if row[2] >= 0.005 * total] + [("other ops", "", small)]
    rows.append(("the rest: Python (graph, walk, modules)", "", total - sum(totals.values())))
    for role, shape, seconds in rows:
        print(f"{role:<42} {shape:<20} {1e3 * seconds / steps:8.2f} {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
