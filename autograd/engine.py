"""The graph walk: reverse-mode differentiation over the recorded nodes.

Order the nodes so that each comes before the nodes of its inputs, start with
dL/dL = 1 at the root, and for each node in that order apply its vector-Jacobian
product to the gradient of its output, summed over the output's uses, adding each
result into the pending gradient of the input it belongs to. What reaches a leaf
is its gradient.

Everything else that wants to see the walk (anomaly checks, retained gradients,
the labels of a gradient's graph, trace_backward) is a watcher (autograd.modes),
told before and after each node's backward.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from autograd.function import Leaf, Node, node_of
from autograd.modes import Watcher, state, watching, with_watchers
from autograd.tensor import Tensor

SUM_OF_GRADIENTS = "sum of gradients"  # draw_graph's name for the engine's own additions


def backpropagate(
    order: Sequence[Node], pending: dict[Node, Tensor], retain_graph: bool
) -> dict[Node, Tensor]:
    """Run each node's backward in `order`, starting from the gradients in `pending`.

    Returns what is left in `pending`: the gradients at the nodes the walk did not
    run, the leaves (and, for ag.grad, the wanted nodes it stopped at).
    """
    watchers = state.watchers
    for node in order:  # each node before the nodes of its inputs
        grad = pending.pop(node, None)  # dL/d(node's output), summed over its uses
        if grad is None:  # no gradient reached it: every use passed None
            continue
        for watcher in watchers:
            watcher.before(node, grad)
        input_grads = node.vjp(grad)
        for watcher in watchers:
            watcher.after(node, input_grads)
        if not retain_graph:
            node.release()
        for parent, g in zip(node.parents, input_grads):
            if parent is not None and g is not None:
                pending[parent] = pending[parent] + g if parent in pending else g
    return pending


def topological_order(starts: Iterable[Node]) -> list[Node]:
    """The nodes above the leaves, each before the nodes of its inputs.

    Iterative depth-first search: a chain of any length needs no recursion.
    """
    order: list[Node] = []
    seen: set[Node] = set()
    stack = [(node, False) for node in starts if not node.is_leaf]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if p is not None and not p.is_leaf)
    order.reverse()
    return order


def backward(
    root: Tensor,
    grad: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(root)/d(leaf) into `.grad` of every leaf that requires grad, and
    d(root)/d(t) into `.grad` of every non-leaf `t` that retains its gradient."""
    pending = {node_of(root): _root_grad(root, grad)}
    order = topological_order(pending)
    kept = _Kept(node for node in order if node.retains_grad)
    with _walking(create_graph, kept):
        leaves = backpropagate(order, pending, _retains(retain_graph, create_graph))
        taken = _memory_taken_by([grad])
        with Leaf.accumulating:  # one thread at a time adds into a .grad
            for leaf, g in leaves.items():
                tensor = leaf.tensor()
                if tensor is not None:  # nobody holds it any more: nobody reads its grad
                    tensor.grad = _accumulated(tensor.grad, g, create_graph, taken)
        for node, g in kept.grads.items():
            g = _accumulated(None, g, create_graph, taken)
            out = node.output()
            if out is not None:  # the result itself may be gone; the node still keeps its grad
                out.grad = g if out.grad is None else out.grad + g
            if node.kept_value is not None:  # under ag.retain_grads()
                node.kept_grad = g.data if node.kept_grad is None else node.kept_grad + g.data


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> tuple[Tensor, ...]:
    """d(outputs)/d(inputs), one Tensor per input, leaving every `.grad` untouched.

    An input the outputs do not depend on gets a gradient of zeros. Only the nodes
    above an input are run, so the graph below a wanted intermediate is neither run
    nor freed.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs)
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"ag.grad: input {i} does not require grad")
    wanted = [node_of(x) for x in inputs]
    pending: dict[Node, Tensor] = {}
    for out, g in zip(outputs, grad_outputs):
        node, g = node_of(out), _root_grad(out, g)
        pending[node] = pending[node] + g if node in pending else g
    wanted_nodes = set(wanted)
    order = _leading_to(wanted_nodes, topological_order(pending))
    kept = _Kept(node for node in order if node in wanted_nodes)
    with _walking(create_graph, kept):
        grads = backpropagate(order, pending, _retains(retain_graph, create_graph))
    grads.update(kept.grads)
    results = [grads.get(node) for node in wanted]
    results = [Tensor(np.zeros_like(x.data)) if g is None else g for x, g in zip(inputs, results)]
    if create_graph:
        return tuple(results)
    taken = _memory_taken_by(grad_outputs)
    return tuple(_owned(g, taken) for g in results)


def _leading_to(wanted: set[Node], order: list[Node]) -> list[Node]:
    """The nodes of `order` whose backward leads to a wanted node (ag.grad's pruning)."""
    useful: set[Node] = set()
    for node in reversed(order):  # a node's inputs come before it here
        if any(p in wanted or p in useful for p in node.parents if p is not None):
            useful.add(node)
    return [node for node in order if node in useful]


def _retains(retain_graph: bool | None, create_graph: bool) -> bool:
    """A graph of gradients still needs the graph below it, so it is kept by default."""
    return create_graph if retain_graph is None else retain_graph


class _Kept(Watcher):
    """Keeps the gradient that arrives at each of `nodes` (retain_grad, ag.grad's inputs)."""

    def __init__(self, nodes: Iterable[Node]):
        self.nodes = set(nodes)
        self.grads: dict[Node, Tensor] = {}

    def before(self, node: Node, grad: Tensor) -> None:
        if node in self.nodes:
            self.grads[node] = grad


class _Labels(Watcher):
    """Under create_graph: labels each node that a backward records with the step that
    made it ("Mul.backward", or the engine's sum of gradients), for ag.draw_graph."""

    step: str | None = None

    def recorded(self, node: Node, args: tuple, kwargs: dict, out: Tensor) -> None:
        if out._node is node:
            node.made_by = self.step

    def before(self, node: Node, grad: Tensor) -> None:
        self.step = f"{node.function.__name__}.backward"

    def after(self, node: Node, input_grads: Sequence[Tensor | None]) -> None:
        self.step = SUM_OF_GRADIENTS


class _walking:
    """The settings of one backward walk: record only under create_graph (with labels),
    and watch for the kept gradients when some are asked for. (A plain class rather
    than set_grad_enabled and watching: it runs once per backward, so it is kept cheap.)"""

    def __init__(self, create_graph: bool, kept: _Kept):
        self.create_graph = create_graph
        self.watchers = ((kept,) if kept.nodes else ()) + ((_Labels(),) if create_graph else ())

    def __enter__(self) -> None:
        self.previous = state.grad_enabled, state.watchers
        state.grad_enabled = self.create_graph
        if self.watchers:
            state.watchers = with_watchers(self.watchers)

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled, state.watchers = self.previous


class retain_grads(watching):
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
        super().__init__(_Retaining())

    def _recreate_cm(self) -> retain_grads:
        return retain_grads()  # a fresh stack for every call of a decorated function


class _Retaining(Watcher):
    def recorded(self, node: Node, args: tuple, kwargs: dict, out: Tensor) -> None:
        if out._node is node:
            node.retains_grad, node.kept_value = True, out.data


def _accumulated(previous: Tensor | None, g: Tensor, create_graph: bool, taken: set[int]) -> Tensor:
    """previous + g, or g alone (a copy if its memory is not ours to hand out)."""
    if previous is not None:
        return previous + g
    return g if create_graph else _owned(g, taken)


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
