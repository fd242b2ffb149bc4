"""trace_backward: the backward pass step by step, to read or to show as a page.

    trace = ag.trace_backward(loss)             # runs loss.backward(), as it would
    for step in trace.steps:                    # in the order the engine ran them
        print(step.op, step.formula, step.output_grad.shape)
    trace.save_html("backward.html", params=dict(model.named_parameters()))

A watcher (autograd.modes) is told by the engine before and after each node's
backward; it keeps the gradient that arrived at the node's output (summed over
its uses) and the gradients the node sent to its inputs, as copies, since the
engine may free or reuse the arrays. It is on only inside `trace_backward`:
a plain `backward()` pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.files import PathLike, atomic_write
from autograd.function import Node
from autograd.modes import Watcher, watching
from autograd.tensor import Tensor


@dataclass(frozen=True, eq=False)
class Step:
    """One node's backward, as the engine ran it.

    `output_grad` is dL/d(output), summed over the output's uses; `input_grads` holds
    what the node sent to each input (None where nothing went: a constant, a number,
    or an input its backward gave no gradient). `completes` are the leaves whose
    gradient is complete once this step has run: no later step sends them anything.
    """

    op: str
    formula: str
    output_grad: np.ndarray
    input_grads: tuple[np.ndarray | None, ...]
    node: Node
    completes: tuple[Node, ...] = ()


class BackwardTrace:
    """The steps of one backward pass (`trace_backward`), in the order they ran."""

    def __init__(self, root: Tensor, steps: Sequence[Step]):
        self.root = root
        self.steps = list(steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        ops = ", ".join(step.op for step in self.steps[:6])
        more = ", ..." if len(self.steps) > 6 else ""
        return f"BackwardTrace({len(self.steps)} steps: {ops}{more})"

    def save_html(self, path: PathLike, params: Mapping[str, Tensor] | None = None) -> None:
        """Write the step-through page of this backward pass: one self-contained HTML
        file (graph, data, script and style inline; no network), written atomically.
        `params` names the leaves, as in `ag.draw_graph`. Needs Graphviz's `dot`."""
        from autograd.backward_page import render  # the page's template: only when asked for

        atomic_write(path, render(self, params))


def trace_backward(root: Tensor, grad: Any = None) -> BackwardTrace:
    """Run `root.backward(grad)`, accumulating `.grad` exactly as it does, and return
    every step the engine ran, with the gradients that flowed through it."""
    recorder = _Recorder()
    with watching(recorder):
        root.backward(grad)
    return BackwardTrace(root, recorder.steps())


class _Recorder(Watcher):
    """Keeps a copy of the gradients around each node's backward."""

    def __init__(self) -> None:
        self.records: list[tuple[Node, np.ndarray, tuple[np.ndarray | None, ...]]] = []
        self.arrived: np.ndarray | None = None

    def before(self, node: Node, grad: Tensor) -> None:
        self.arrived = np.array(grad.data, copy=True)

    def after(self, node: Node, input_grads: Sequence[Tensor | None]) -> None:
        sent = tuple(
            [
                None if parent is None or g is None else np.array(g.data, copy=True)
                for parent, g in zip(node.parents, input_grads)
            ]
        )
        self.records.append((node, self.arrived, sent))

    def steps(self) -> list[Step]:
        """The records as steps, each with the leaves it is the last to send to."""
        last: dict[Node, int] = {}
        for i, (node, _, sent) in enumerate(self.records):
            for parent, g in zip(node.parents, sent):
                if parent is not None and parent.is_leaf and g is not None:
                    last[parent] = i
        completes: dict[int, list[Node]] = {}
        for leaf, i in last.items():
            completes.setdefault(i, []).append(leaf)
        return [
            Step(
                op=node.function.__name__,
                formula=getattr(node.function, "formula", ""),
                output_grad=arrived,
                input_grads=sent,
                node=node,
                completes=tuple(completes.get(i, ())),
            )
            for i, (node, arrived, sent) in enumerate(self.records)
        ]
