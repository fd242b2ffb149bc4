"""The graph walk: reverse-mode differentiation over the recorded nodes."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import anomaly
from autograd.function import Node, _thread, set_grad_enabled
from autograd.tensor import Tensor

SUM_OF_GRADIENTS = "sum of gradients"  # draw_graph's name for the engine's own additions


def backward(
    root: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(root)/d(leaf) into `.grad` of every leaf that requires grad, and
    d(root)/d(t) into `.grad` of every non-leaf `t` that retains its gradient."""
    grads = _backpropagate([root], [grad], retain_graph, create_graph)
    taken = _memory_taken_by([grad])
    with _recorded_as(SUM_OF_GRADIENTS if create_graph else None):
        for leaf, g in grads.leaves.values():
            leaf.grad = _accumulated(leaf.grad, g, create_graph, taken)
        for node, g in grads.retained.items():
            g = _accumulated(None, g, create_graph, taken)
            out = node.output()
            if out is not None:  # the result itself may be gone; the node still keeps its grad
                out.grad = g if out.grad is None else out.grad + g
            if node.kept_value is not None:  # under ag.retain_grads()
                node.kept_grad = g.data if node.kept_grad is None else node.kept_grad + g.data


def _accumulated(previous: Tensor | None, g: Tensor, create_graph: bool, taken: set[int]) -> Tensor:
    """previous + g, or g alone (a copy if its memory is not ours to hand out)."""
    if previous is not None:
        return previous + g
    return g if create_graph else _owned(g, taken)


class retain_grads(contextlib.ContextDecorator):
    """Keep every intermediate's value and gradient, to look at (or draw) after backward.

        with ag.retain_grads():
            loss = model(x)
            loss.backward()
        ag.draw_graph(loss, show_values=True)  # values and gradients on every node

    Every operation run inside records its result's array on its graph node, and
    marks the result as if `retain_grad()` were called on it: `backward()` (inside
    the block or after it; `ag.grad` keeps nothing) leaves dL/d(result) in the
    result's `.grad` while the result lives, and on the node in any case. What is
    kept goes with the graph: it is freed when the graph's root is. Outside the
    block nothing extra is kept. The switch is per thread, like grad mode.
    """

    def __init__(self) -> None:
        self.previous: list[bool] = []  # a stack: one object may be entered again inside itself

    def __enter__(self) -> None:
        self.previous.append(_thread.retaining_grads)
        _thread.retaining_grads = True

    def __exit__(self, *exc: object) -> None:
        _thread.retaining_grads = self.previous.pop()

    def _recreate_cm(self) -> retain_grads:
        return retain_grads()  # a fresh stack for every call of a decorated function


class _recorded_as(contextlib.AbstractContextManager):
    """Label the nodes recorded inside (under create_graph) with the backward step
    that made them, for ag.draw_graph; None leaves them unlabelled."""

    def __init__(self, step: str | None):
        self.step = step

    def __enter__(self) -> None:
        self.previous, _thread.backward_step = _thread.backward_step, self.step

    def __exit__(self, *exc: object) -> None:
        _thread.backward_step = self.previous


def _memory_taken_by(given: Sequence[Any]) -> set[int]:
    """The caller's gradient arrays, which no returned or stored gradient may share."""
    return {
        id(_memory_of(np.asarray(g.data if isinstance(g, Tensor) else g)))
        for g in given
        if g is not None
    }


def _memory_of(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory `array` looks at."""
    return array if array.base is None else array.base


def _owned(g: Tensor, taken: set[int]) -> Tensor:
    """`g`, or a copy when its memory is read-only (a broadcast view) or already
    taken by another leaf or the caller: users may change a `.grad` in place."""
    memory = id(_memory_of(g.data))
    if not g.data.flags.writeable or memory in taken:
        return Tensor(g.data.copy())
    taken.add(memory)
    return g


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> tuple[Tensor, ...]:
    """d(outputs)/d(inputs), one Tensor per input, leaving every `.grad` untouched.

    An input the outputs do not depend on gets a gradient of zeros.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"ag.grad: input {i} does not require grad")
    grads = _backpropagate(outputs, list(grad_outputs), retain_graph, create_graph, inputs)
    if create_graph:
        return tuple(grads.of(x) for x in inputs)
    taken = _memory_taken_by(grad_outputs)
    return tuple(_owned(grads.of(x), taken) for x in inputs)


class _Gradients:
    """Gradients collected by one backward pass: of every leaf, or only of `wanted`."""

    def __init__(self, wanted: Sequence[Tensor] | None):
        self.leaves: dict[int, tuple[Tensor, Tensor]] = {}  # id(leaf) -> (leaf, dL/dleaf)
        self.at_node: dict[Node, Tensor] = {}  # gradients of the wanted non-leaf tensors
        self.retained: dict[Node, Tensor] = {}  # backward(): of the nodes that retain grads
        self.every_leaf = wanted is None
        wanted = wanted or ()
        self.wanted_leaves = {id(x) for x in wanted if x._node is None}
        self.wanted_nodes = {x._node for x in wanted if x._node is not None}

    def add_to_leaf(self, leaf: Tensor, g: Tensor) -> None:
        if not self.every_leaf and id(leaf) not in self.wanted_leaves:
            return
        previous = self.leaves.get(id(leaf))
        self.leaves[id(leaf)] = (leaf, g if previous is None else previous[1] + g)

    def of(self, x: Tensor) -> Tensor:
        g = (
            self.at_node.get(x._node)
            if x._node is not None
            else self.leaves.get(id(x), (x, None))[1]
        )
        return g if g is not None else Tensor(np.zeros_like(x.data))

    def worth_running(self, order: list[Node]) -> set[Node]:
        """The nodes whose backward leads to a gradient that was asked for: all of
        them for backward(); for ag.grad, only those above a wanted tensor, so the
        graph below a wanted intermediate is neither run nor freed."""
        if self.every_leaf:
            return set(order)
        useful: set[Node] = set()
        for node in reversed(order):  # a node's inputs come before it here
            for p in node.parents:
                if isinstance(p, Tensor):
                    if id(p) in self.wanted_leaves:
                        useful.add(node)
                elif p is not None and (p in useful or p in self.wanted_nodes):
                    useful.add(node)
        return useful


def _backpropagate(
    roots: list[Tensor],
    root_grads: list[Any],
    retain_graph: bool | None,
    create_graph: bool,
    wanted: Sequence[Tensor] | None = None,
) -> _Gradients:
    """Apply each node's vector-Jacobian product, from the roots back to the leaves."""
    if retain_graph is None:
        retain_graph = create_graph  # a graph of gradients still needs the graph below it
    result = _Gradients(wanted)
    pending: dict[Node, Tensor] = {}  # node -> dL/d(its output), summed over its uses
    for root, g in zip(roots, root_grads):
        g = _root_grad(root, g)
        if root._node is None:
            result.add_to_leaf(root, g)
        else:
            pending[root._node] = pending[root._node] + g if root._node in pending else g

    order = _topological_order([r._node for r in roots if r._node is not None])
    worth_running = result.worth_running(order)
    with set_grad_enabled(create_graph), anomaly.backward_pass(), _recorded_as(None):
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            if node in result.wanted_nodes:
                result.at_node[node] = g
            if node.retains_grad and result.every_leaf:  # t.retain_grad(), ag.retain_grads()
                result.retained[node] = g
            if node not in worth_running:
                continue
            if create_graph:  # what this backward records is part of the gradient's graph
                _thread.backward_step = f"{node.function.__name__}.backward"
            input_grads = _as_input_grads(node, node.function.backward(node, g))
            if anomaly.enabled:  # ag.detect_anomaly(): name the node whose backward made nan/inf
                anomaly.check_backward(node, input_grads)
            if not retain_graph:
                node.release()
            if create_graph:
                _thread.backward_step = SUM_OF_GRADIENTS
            for parent, ig in zip(node.parents, input_grads):
                if parent is None or ig is None:
                    continue
                if isinstance(parent, Tensor):
                    result.add_to_leaf(parent, ig)
                else:
                    pending[parent] = pending[parent] + ig if parent in pending else ig
    return result


def _root_grad(root: Tensor, grad: Any) -> Tensor:
    """The gradient that starts the walk: ones for a one-element root, else `grad`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() through a tensor that does not require grad: nothing that made it "
            "requires grad (or it was computed under no_grad())"
        )
    if grad is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {root.shape} needs a gradient: pass "
                "grad= of the same shape (a gradient is implied only for one-element tensors)"
            )
        return Tensor(np.ones_like(root.data))
    grad = (
        grad.astype(root.dtype)
        if isinstance(grad, Tensor)
        else Tensor(np.asarray(grad, dtype=root.dtype))
    )
    if grad.shape != root.shape:
        raise ValueError(
            f"backward(): grad of shape {grad.shape} given for a tensor of shape {root.shape}"
        )
    return grad


def _as_input_grads(node: Node, returned: Any) -> list[Tensor | None]:
    """What a backward returned, checked: one gradient per input, each of its input's
    shape, and in its input's dtype (an op mixing float32 and float64 computes in
    float64; the float32 input still gets a float32 gradient)."""
    input_grads = list(returned) if isinstance(returned, tuple) else [returned]
    if len(input_grads) != len(node.parents):
        raise RuntimeError(
            f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
            f"for {len(node.parents)} inputs"
        )
    for i, (g, parent) in enumerate(zip(input_grads, node.parents)):
        if g is None or parent is None:
            continue
        if not isinstance(g, Tensor):
            g = input_grads[i] = Tensor(np.asarray(g))
        if g.data.shape != node.input_shapes[i]:
            raise RuntimeError(
                f"{node.function.__name__}.backward returned a gradient of shape {g.shape} "
                f"for input {i} of shape {node.input_shapes[i]}"
            )
        if g.data.dtype != node.input_dtypes[i]:
            input_grads[i] = g.astype(node.input_dtypes[i])
    return input_grads


def _topological_order(roots: list[Node]) -> list[Node]:
    """Nodes ordered so that each comes before the nodes of its inputs.

    Iterative depth-first search: a chain of any length needs no recursion.
    """
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(node, False) for node in roots]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if isinstance(p, Node) and p not in seen)
    order.reverse()
    return order
