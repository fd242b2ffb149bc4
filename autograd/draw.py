"""draw_graph: the graph that computed a tensor, as a Graphviz picture.

    dot = ag.draw_graph(loss, params=dict(model.named_parameters()))
    dot.render("loss", format="svg")   # or dot.source for the DOT text

Boxes are operations, labelled with their Function's name; ellipses are the
leaves: parameters (by their name in `params`), other tensors that require
grad ("input") and tensors that do not ("constant", drawn once per use since
the graph keeps only their shape and dtype). Every node shows its shape and
dtype, and edges follow the forward computation, from inputs to the result.
Parameters named `layer.param` are grouped in one box per layer.

With `show_values=True` nodes also show their values and gradients, as the
numbers themselves for up to 4 elements, else min, mean and max (of the finite
elements, with counts of NaN and inf). Values are those of the tensors still
alive: leaves, op results something still holds (a variable, or a graph not
yet freed by backward), and every result recorded under `ag.retain_grads()`;
another result says "value freed". Gradients are those kept: `.grad` of the
leaves and of results that called `retain_grad()`, and every gradient under
`ag.retain_grads()`; other results say "grad not kept". A node whose value or
gradient holds NaN or inf is red.

The graph of a gradient (`x.grad` after `backward(create_graph=True)`, or what
`ag.grad(..., create_graph=True)` returns) draws the same way. Its operations
were recorded by the backward pass: they are orange, and a line says which
backward made each one ("Mul.backward") or that the engine added two
gradients of one tensor ("sum of gradients"). Grey operations below them are
the forward graph, which the backward reaches through the tensors it saved.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from autograd.anomaly import non_finite
from autograd.function import Node
from autograd.optional import optional_import
from autograd.tensor import Tensor

if TYPE_CHECKING:
    import graphviz

SMALL = 4  # tensors of up to this many elements show every value

_OP_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "lightgray"}
_BACKWARD_OP_STYLE = _OP_STYLE | {"fillcolor": "orange"}
_LEAF_STYLE = {
    "parameter": {"shape": "ellipse", "style": "filled", "fillcolor": "lightblue"},
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "lightyellow"},
    "constant": {"shape": "ellipse", "style": "dashed"},
}
_ANOMALY_STYLE = {"color": "red", "fontcolor": "red", "penwidth": "2"}

DrawnNode = tuple[str, str, dict[str, str]]  # (node id, label, attributes)


def draw_graph(
    root: Tensor, params: Mapping[str, Tensor] | None = None, show_values: bool = False
) -> graphviz.Digraph:
    """A Digraph with a node per operation and per leaf of the graph that produced `root`.

    `params` names leaves, e.g. `dict(model.named_parameters())`.
    """
    return drawing(root, params, show_values)[0]


def drawing(
    root: Tensor, params: Mapping[str, Tensor] | None = None, show_values: bool = False
) -> tuple[graphviz.Digraph, dict[Node, str]]:
    """`draw_graph`'s Digraph, and the DOT id of each graph node it draws (op nodes, and
    the `Leaf` of each leaf tensor still alive). Graphviz writes a node's DOT id as the
    `<title>` of its `g.node` in SVG, so a page can find the drawing of each node."""
    graphviz = optional_import("graphviz")  # imported only when a graph is drawn
    names = {id(t): name for name, t in (params or {}).items()}
    layers: dict[str, list[DrawnNode]] = {}  # layer ("" for none) -> its nodes
    leaf_ids: dict[int, str] = {}  # id(leaf) -> node id
    edges: list[tuple[str, str]] = []  # (input, op): the direction of the forward pass
    constants = itertools.count()

    def leaf_id(t: Tensor | None, shape: tuple[int, ...], dtype: np.dtype) -> str:
        """The id of a leaf's node; a tensor that is gone (t None) was a constant."""
        if t is None:
            node_id = f"const{next(constants)}"
            label = _label("constant", _describe(shape, dtype))
            layers.setdefault("", []).append((node_id, label, _LEAF_STYLE["constant"]))
            return node_id
        if id(t) not in leaf_ids:
            node_id = leaf_ids[id(t)] = f"leaf{len(leaf_ids)}"
            name = names.get(id(t))
            layer = name.rpartition(".")[0] if name else ""
            layers.setdefault(layer, []).append((node_id, *_leaf(t, name, show_values)))
        return leaf_ids[id(t)]

    # Breadth-first from the root, with a queue rather than recursion: any depth works.
    op_ids: dict[Node, str] = {}
    queue: list[Node] = []
    if root._node is None:
        leaf_id(root, root.shape, root.dtype)
    else:
        op_ids[root._node] = "op0"
        queue.append(root._node)
    leaf_nodes: dict[Node, str] = {}  # Leaf -> node id, for `drawing`'s callers
    for node in queue:
        node_id = op_ids[node]
        layers.setdefault("", []).append((node_id, *_op(node, show_values)))
        for parent, spec in zip(node.parents, node.inputs):
            shape, dtype = spec or (None, None)
            if parent is not None and parent.is_leaf:
                tensor = parent.tensor()
                edges.append((leaf_id(tensor, shape, dtype), node_id))
                if tensor is not None:
                    leaf_nodes[parent] = leaf_ids[id(tensor)]
            elif parent is not None:
                if parent not in op_ids:
                    op_ids[parent] = f"op{len(op_ids)}"
                    queue.append(parent)
                edges.append((op_ids[parent], node_id))
            elif shape is not None:  # a tensor that needs no grad: only shape and dtype are kept
                edges.append((leaf_id(None, shape, dtype), node_id))
            # else a non-tensor argument (an axis, a shape): not a node

    dot = graphviz.Digraph(
        graph_attr={"fontname": "Helvetica"}, node_attr={"fontname": "Helvetica"}
    )
    for layer, nodes in layers.items():
        if not layer:
            for node_id, label, attrs in nodes:
                dot.node(node_id, label, **attrs)
            continue
        with dot.subgraph(name=f"cluster_{layer}") as cluster:
            # nohtml: a name like "<b>.w" is text, not one of Graphviz's HTML-like labels
            cluster.attr(label=graphviz.nohtml(layer), style="rounded,dashed", color="gray40")
            for node_id, label, attrs in nodes:
                cluster.node(node_id, label, **attrs)
    dot.edges(edges)
    return dot, {**op_ids, **leaf_nodes}


def _op(node: Node, show_values: bool) -> tuple[str, dict[str, str]]:
    """Label and attributes of an operation's node."""
    lines = [node.function.__name__, _describe(node.output_shape, node.output_dtype)]
    if node.made_by is not None:
        lines.append(node.made_by)
    style = _OP_STYLE if node.made_by is None else _BACKWARD_OP_STYLE
    if not show_values:
        return _label(*lines), style
    value, grad = _known_value_and_grad(node)
    lines.append("value freed" if value is None else f"value {_summary(value)}")
    lines.append("grad not kept" if grad is None else f"grad {_summary(grad)}")
    bad = _bad(value) or _bad(grad)
    return _label(*lines), style | (_ANOMALY_STYLE if bad else {})


def _known_value_and_grad(node: Node) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The arrays of an op's result and of its gradient, where something still holds them."""
    out = node.output()
    value = out.data if out is not None else node.kept_value
    grad = out.grad.data if out is not None and out.grad is not None else node.kept_grad
    return value, grad


def _leaf(t: Tensor, name: str | None, show_values: bool) -> tuple[str, dict[str, str]]:
    """Label and attributes of a leaf's node."""
    kind = "parameter" if name else ("input" if t.requires_grad else "constant")
    lines = [name or kind, _describe(t.shape, t.dtype)]
    grad = t.grad.data if t.grad is not None else None
    if show_values:
        lines += [f"value {_summary(t.data)}", f"grad {_summary(grad)}"]
    bad = show_values and (_bad(t.data) or _bad(grad))
    return _label(*lines), _LEAF_STYLE[kind] | (_ANOMALY_STYLE if bad else {})


def _label(*lines: str) -> str:
    return r"\n".join(lines)  # DOT's line break


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    return f"{shape} {dtype}"


def _bad(a: np.ndarray | None) -> bool:
    """True when `a` holds NaN or inf."""
    return a is not None and bool(non_finite(a))


def _summary(a: np.ndarray | None) -> str:
    """The numbers of a small array, else min, mean and max of its finite elements."""
    if a is None:
        return "none"
    a = a.astype(np.float64)
    if a.size <= SMALL:
        numbers = ", ".join(f"{v:.4g}" for v in a.ravel())
        return f"[{numbers}]" if a.ndim else numbers
    finite = np.isfinite(a)
    parts = []
    if finite.any():
        kept = a[finite]
        parts.append(f"min {kept.min():.4g} mean {kept.mean():.4g} max {kept.max():.4g}")
    for kind, test in (("nan", np.isnan), ("inf", np.isposinf), ("-inf", np.isneginf)):
        count = int(test(a).sum())
        if count:
            parts.append(f"{count} {kind}")
    return ", ".join(parts)
