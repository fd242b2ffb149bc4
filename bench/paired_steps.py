"""Paired steps: this checkout's ops against another checkout's, inside one training run.

``python -m bench.paired_steps --other ../old-checkout --modules nn.conv,nn.pooling``

One process trains the bench's CNN (bench/engine_cnn.py) and alternates blocks of
``--block`` steps between the two versions of the named modules, in ABBA order: the
other checkout's copy of each module is loaded beside this one, and its Function
classes are swapped in for the "other" blocks. Prints the median and quartiles of the
per-pair ratio of ms per step (this / other). Drifts of the VM's speed hit both halves
of a pair alike, so this resolves changes of a few percent that separate runs of
``bench.run`` cannot (their epochs differ by 10-20% from round to round).

Only the Function classes move: a change elsewhere in a module (a helper a Function
calls) is swapped with it, since each class looks up its module's own names.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

if not __package__:  # run as `python bench/paired_steps.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import autograd as ag
import nn
from bench import engine_cnn
from bench.workload import (
    ALPHA,
    BATCH,
    EPS,
    IMAGE,
    LR,
    add_data_args,
    batch_order,
    init_cnn_params,
    load,
)

Swap = tuple[ModuleType, str, type, type]  # module, name, this version, the other


def swaps(other: Path, modules: list[str]) -> list[Swap]:
    """The Function classes of `modules` in this checkout, each beside the other's."""
    found = []
    for name in modules:
        path = other / (name.replace(".", "/") + ".py")
        if not path.is_file():
            raise SystemExit(f"error: {path} does not exist (--other is a checkout's root)")
        spec = importlib.util.spec_from_file_location(f"other_{name.replace('.', '_')}", path)
        theirs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(theirs)
        ours = importlib.import_module(name)
        for attr, value in vars(theirs).items():
            mine = getattr(ours, attr, None)
            if isinstance(value, type) and issubclass(value, ag.Function) and mine is not None:
                if value.__module__ == theirs.__name__:  # defined there, not imported
                    found.append((ours, attr, mine, value))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(parser)
    parser.add_argument("--other", type=Path, required=True, help="the other checkout's root")
    parser.add_argument("--modules", default="nn.conv", help="comma-separated, e.g. nn.conv")
    parser.add_argument("--pairs", type=int, default=15, help="ABBA rounds (2 pairs each)")
    parser.add_argument("--block", type=int, default=10, help="steps per block")
    args = parser.parse_args(argv)
    swapped = swaps(args.other, [m for m in args.modules.split(",") if m])
    print("swapping", ", ".join(f"{m.__name__}.{name}" for m, name, _, _ in swapped))

    data = load(args)
    x, y = data.x.reshape(-1, *IMAGE), data.y
    model = engine_cnn.model()
    model.load_state_dict(init_cnn_params(args.seed))
    optimizer = nn.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    batches = [idx for idx in batch_order(len(y), args.seed) if len(idx) == BATCH]
    if not batches:
        raise SystemExit(f"error: fewer than {BATCH} images: no full batch to step on")

    def block(version: str, first: int) -> float:
        for module, name, mine, theirs in swapped:
            setattr(module, name, mine if version == "this" else theirs)
        times = []
        for i in range(first, first + args.block + 1):  # the first step warms the version up
            idx = batches[i % len(batches)]
            start = time.perf_counter()
            loss = nn.functional.cross_entropy(model(ag.Tensor(x[idx])), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
        return 1e3 * float(np.mean(times[1:]))

    ratios, this, other = [], [], []
    for r in range(args.pairs):
        starts = [(4 * r + i) * (args.block + 1) for i in range(4)]  # each block's batches
        a1, b1 = block("other", starts[0]), block("this", starts[1])
        b2, a2 = block("this", starts[2]), block("other", starts[3])
        other += [a1, a2]
        this += [b1, b2]
        ratios += [b1 / a1, b2 / a2]
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    print(
        f"this / other: median {median:.3f} (quartiles {q1:.3f}-{q3:.3f}) over {len(ratios)} "
        f"pairs; ms per step: this {np.median(this):.2f}, other {np.median(other):.2f}"
    )


if __name__ == "__main__":
    main()
