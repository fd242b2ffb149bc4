"""The graph walk: reverse-mode differentiation over the recorded nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd import anomaly
from autograd.function import Context, set_grad_enabled
from autograd.tensor import Tensor


def backward(
    root: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(root)/d(leaf) into `.grad` of every leaf that requires grad."""
    grads = _backpropagate([root], [grad], retain_graph, create_graph)
    taken = _memory_taken_by([grad])
    for leaf, g in grads.leaves.values():
        if leaf.grad is not None:
            leaf.grad = leaf.grad + g
        else:
            leaf.grad = g if create_graph else _owned(g, taken)


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
        self.at_node: dict[Context, Tensor] = {}  # gradients of the wanted non-leaf tensors
        self.every_leaf = wanted is None
        wanted = wanted or ()
        self.wanted_leaves = {id(x) for x in wanted if x._ctx is None}
        self.wanted_nodes = {x._ctx for x in wanted if x._ctx is not None}

    def add_to_leaf(self, leaf: Tensor, g: Tensor) -> None:
        if not self.every_leaf and id(leaf) not in self.wanted_leaves:
            return
        previous = self.leaves.get(id(leaf))
        self.leaves[id(leaf)] = (leaf, g if previous is None else previous[1] + g)

    def of(self, x: Tensor) -> Tensor:
        g = self.at_node.get(x._ctx) if x._ctx is not None else self.leaves.get(id(x), (x, None))[1]
        return g if g is not None else Tensor(np.zeros_like(x.data))

    def worth_running(self, order: list[Context]) -> set[Context]:
        """The nodes whose backward leads to a gradient that was asked for: all of
        them for backward(); for ag.grad, only those above a wanted tensor, so the
        graph below a wanted intermediate is neither run nor freed."""
        if self.every_leaf:
            return set(order)
        useful: set[Context] = set()
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
    pending: dict[Context, Tensor] = {}  # node -> dL/d(its output), summed over its uses
    for root, g in zip(roots, root_grads):
        g = _root_grad(root, g)
        if root._ctx is None:
            result.add_to_leaf(root, g)
        else:
            pending[root._ctx] = pending[root._ctx] + g if root._ctx in pending else g

    order = _topological_order([r._ctx for r in roots if r._ctx is not None])
    worth_running = result.worth_running(order)
    with set_grad_enabled(create_graph), anomaly.backward_pass():
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            if node in result.wanted_nodes:
                result.at_node[node] = g
            if node not in worth_running:
                continue
            input_grads = _as_input_grads(node, node.function.backward(node, g))
            if anomaly.enabled:  # ag.detect_anomaly(): name the node whose backward made nan/inf
                anomaly.check_backward(node, input_grads)
            if not retain_graph:
                node.release()
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


def _as_input_grads(node: Context, returned: Any) -> list[Tensor | None]:
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


def _topological_order(roots: list[Context]) -> list[Context]:
    """Nodes ordered so that each comes before the nodes of its inputs.

    Iterative depth-first search: a chain of any length needs no recursion.
    """
    order: list[Context] = []
    seen: set[Context] = set()
    stack: list[tuple[Context, bool]] = [(node, False) for node in roots]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if isinstance(p, Context) and p not in seen)
    order.reverse()
    return order
