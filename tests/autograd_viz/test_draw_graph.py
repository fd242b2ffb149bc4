"""ag.draw_graph: nodes, labels, edges, clusters, values and the rendered picture."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

import autograd as ag

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.MULTILINE)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)$", re.MULTILINE)


def nodes(dot: graphviz.Digraph) -> dict[str, tuple[list[str], str]]:
    """node id -> (label lines, the other attributes), from the DOT source."""
    return {m[1]: (m[2].split(r"\n"), m[3]) for m in NODE.finditer(dot.source)}


def edges(dot: graphviz.Digraph) -> list[tuple[str, str]]:
    """(from, to) as node titles (first label line), from the DOT source."""
    title = {node_id: lines[0] for node_id, (lines, _) in nodes(dot).items()}
    return [(title[a], title[b]) for a, b in EDGE.findall(dot.source)]


def titles(dot: graphviz.Digraph) -> list[str]:
    return sorted(lines[0] for lines, _ in nodes(dot).values())


def labels(dot: graphviz.Digraph) -> dict[str, list[str]]:
    """title -> label lines, for graphs whose titles differ."""
    return {lines[0]: lines for lines, _ in nodes(dot).values()}


def layer():
    """A linear layer with ReLU and a scaled sum: its parameters and its output."""
    w = ag.Tensor(np.ones((3, 2)), requires_grad=True)
    b = ag.Tensor(np.zeros(2), requires_grad=True)
    x = ag.Tensor(np.arange(6.0).reshape(2, 3))
    return {"0.weight": w, "0.bias": b}, ((x @ w + b).relu() * 2.0).sum()


def test_one_node_per_op_and_leaf_with_names_shapes_and_dtypes():
    params, y = layer()
    dot = ag.draw_graph(y, params)
    assert titles(dot) == sorted(
        ["Sum", "Mul", "Relu", "Add", "MatMul", "0.weight", "0.bias", "constant", "constant"]
    )
    shown = labels(dot)
    assert shown["MatMul"][1] == "(2, 2) float64"
    assert shown["Sum"][1] == "() float64"
    assert shown["0.weight"][1] == "(3, 2) float64"
    assert shown["0.bias"][1] == "(2,) float64"
    constants = sorted(lines[1] for lines, _ in nodes(dot).values() if lines[0] == "constant")
    assert constants == ["() float64", "(2, 3) float64"]  # the 2.0 and x


def test_edges_follow_the_forward_computation():
    params, y = layer()
    assert sorted(edges(ag.draw_graph(y, params))) == sorted(
        [
            ("constant", "MatMul"),
            ("0.weight", "MatMul"),
            ("MatMul", "Add"),
            ("0.bias", "Add"),
            ("Add", "Relu"),
            ("Relu", "Mul"),
            ("constant", "Mul"),
            ("Mul", "Sum"),
        ]
    )


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    dot = ag.draw_graph((y + y).sum())
    assert titles(dot) == ["Add", "Mul", "Sum", "input"]
    assert edges(dot).count(("input", "Mul")) == 2
    assert edges(dot).count(("Mul", "Add")) == 2


def test_leaves_are_named_by_params_else_input():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0], requires_grad=True)
    assert titles(ag.draw_graph(a * b, {"scale": a})) == ["Mul", "input", "scale"]


def test_a_leaf_root_is_a_single_node():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert titles(ag.draw_graph(x, {"w": x})) == ["w"]
    assert titles(ag.draw_graph(ag.tensor([1.0]))) == ["constant"]


def test_parameters_are_grouped_in_a_cluster_per_layer():
    w0, b0, w2 = (ag.tensor(np.ones((2, 2)), requires_grad=True) for _ in range(3))
    x = ag.tensor(np.ones((1, 2)))
    y = ((x @ w0 + b0) @ w2).sum()
    dot = ag.draw_graph(y, {"0.weight": w0, "0.bias": b0, "2.weight": w2})
    clusters = dict(re.findall(r"subgraph (cluster_\w+) \{(.*?)\n\t\}", dot.source, re.DOTALL))
    assert sorted(clusters) == ["cluster_0", "cluster_2"]
    assert "0.weight" in clusters["cluster_0"] and "0.bias" in clusters["cluster_0"]
    assert "2.weight" in clusters["cluster_2"] and "0." not in clusters["cluster_2"]
    assert "MatMul" not in "".join(clusters.values())


def test_show_values_gives_numbers_or_min_mean_max_and_leaf_grads():
    w = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    h = w * 2.0  # still referenced: its value is shown
    y = h.sum()
    y.backward()
    shown = labels(ag.draw_graph(y, {"w": w}, show_values=True))
    assert shown["w"][2:] == ["value min 0 mean 2.5 max 5", "grad min 2 mean 2 max 2"]
    assert shown["Mul"][2] == "value min 0 mean 5 max 10"
    assert shown["Sum"][2] == "value 30"

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    z = (x.exp() * 1.0).sum()  # the Mul's result is freed; Exp's is kept for its backward
    shown = labels(ag.draw_graph(z, show_values=True))
    assert shown["input"][2:] == ["value [1, 2]", "grad none"]
    assert shown["Mul"][2] == "value freed"
    assert shown["Exp"][2] == "value [2.718, 7.389]"
    assert shown["Sum"][3] == "grad not kept"  # the engine keeps no op's gradient unasked


def test_show_values_under_retain_grads_gives_every_node_its_value_and_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.retain_grads():
        z = ((x + 1.0) * 3.0).sum()  # nothing holds x + 1, and no backward needs it
        z.backward()
    shown = labels(ag.draw_graph(z, {"x": x}, show_values=True))
    assert shown["Add"][2:] == ["value [2, 3]", "grad [3, 3]"]
    assert shown["Mul"][2:] == ["value [6, 9]", "grad [1, 1]"]
    assert shown["Sum"][2:] == ["value 15", "grad 1"]
    assert shown["x"][3] == "grad [3, 3]"


def test_a_retained_grad_is_shown_on_its_node():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.retain_grad()
    z = (h * 2.0).sum()
    z.backward()
    shown = labels(ag.draw_graph(z, show_values=True))
    assert shown["Exp"][3] == "grad [2, 2]"
    assert shown["Mul"][3] == "grad not kept"


def test_show_values_counts_nan_and_inf():
    x = ag.Tensor(np.array([0.0, 1.0, 1.0, 4.0, -1.0]), requires_grad=True)
    y = x.log()
    assert labels(ag.draw_graph(y, show_values=True))["Log"][2] == (
        "value min 0 mean 0.4621 max 1.386, 1 nan, 1 -inf"
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nodes_with_nan_or_inf_are_red_when_values_are_shown():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    y = x.sqrt()  # finite, but its gradient at 0 is inf
    z = (y * 0.5).log()  # log(0) = -inf
    z.sum().backward()
    dot = ag.draw_graph(z, {"x": x}, show_values=True)
    red = {lines[0] for lines, attrs in nodes(dot).values() if "color=red" in attrs}
    assert red == {"Log", "x"}  # Log's value, x's gradient; Sqrt's value is finite
    assert "color=red" not in ag.draw_graph(z, {"x": x}).source  # values not shown


def test_deep_graphs_need_no_recursion():
    x = ag.tensor([1.0], requires_grad=True)
    y = x
    depth = 3 * sys.getrecursionlimit()
    for _ in range(depth):
        y = y * 1.0
    dot = ag.draw_graph(y)
    assert titles(dot).count("Mul") == depth
    assert len(EDGE.findall(dot.source)) == 2 * depth


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_rendered_svg_is_xml_naming_the_parameters():
    params, y = layer()
    svg = ET.fromstring(ag.draw_graph(y, params).pipe(format="svg"))
    texts = {element.text for element in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"0.weight", "0.bias", "MatMul", "Relu", "(3, 2) float64"} <= texts


def gradient_graph():
    """The graph of d/dx Σ x·exp(x) = exp(x) + x·exp(x), recorded by backward."""
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x.exp() * x).sum().backward(create_graph=True)
    return x


def test_a_gradient_graph_has_the_ops_backward_ran_each_named_by_its_backward():
    x = gradient_graph()
    dot = ag.draw_graph(x.grad, {"x": x})
    backward_ops = sorted(
        (lines[0], lines[2]) for lines, attrs in nodes(dot).values() if "fillcolor=orange" in attrs
    )
    assert backward_ops == [
        ("Add", "sum of gradients"),  # x is used twice: by Exp and by Mul
        ("Mul", "Exp.backward"),  # grad · exp(x)
        ("Mul", "Mul.backward"),  # grad · x, for the exp(x) factor
        ("Mul", "Mul.backward"),  # grad · exp(x), for the x factor
    ]
    forward_ops = [lines[0] for lines, attrs in nodes(dot).values() if "lightgray" in attrs]
    assert forward_ops == ["Exp"]  # reached through the output Exp saved for its backward
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_what_ag_grad_returns_draws_the_same_gradient_graph():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad((x.exp() * x).sum(), x, create_graph=True)
    assert sorted(edges(ag.draw_graph(g))) == sorted(edges(ag.draw_graph(gradient_graph().grad)))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_a_gradient_graph_renders_as_svg_naming_the_backward_steps():
    x = gradient_graph()
    svg = ET.fromstring(ag.draw_graph(x.grad, {"x": x}, show_values=True).pipe(format="svg"))
    texts = {element.text for element in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"Exp.backward", "Mul.backward", "sum of gradients", "Exp", "x"} <= texts
