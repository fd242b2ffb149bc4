"""ag.trace_backward: every step of the backward pass, with the gradients that flowed."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import autograd as ag
import nn
from autograd.engine import topological_order
from autograd.modes import Watcher, state, watching
from autograd.ops.reductions import Sum


def model(seed: int = 0):
    """A small graph with a leaf used twice, a constant, a reduction and a matmul."""
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    w = ag.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    b = ag.tensor(rng.normal(size=(2,)), requires_grad=True)
    return x, w, b


def loss_of(x, w, b):
    h = x @ w + b
    a = h.relu() * 2.0
    return (a * a).sum() + x.sum(), (h, a)


class Order(Watcher):
    """The nodes in the order the engine runs them."""

    def __init__(self):
        self.nodes = []

    def before(self, node, grad):
        self.nodes.append(node)


def test_steps_follow_the_engines_order():
    x, w, b = model()
    loss, _ = loss_of(x, w, b)
    expected = topological_order([loss._node])
    order = Order()
    with watching(order):
        trace = ag.trace_backward(loss)
    assert [s.node for s in trace.steps] == order.nodes == expected
    assert [s.op for s in trace.steps] == [n.function.__name__ for n in expected]


def test_each_step_holds_the_gradients_that_ag_grad_gives():
    x, w, b = model()
    loss, (h, a) = loss_of(x, w, b)
    grads = ag.grad(loss, [h, a, x, w, b], retain_graph=True)
    dh, da = grads[0].data, grads[1].data
    trace = ag.trace_backward(loss)
    by_node = {s.node: s for s in trace.steps}
    np.testing.assert_allclose(by_node[h._node].output_grad, dh)
    np.testing.assert_allclose(by_node[a._node].output_grad, da)
    assert trace.steps[0].output_grad == np.ones(())  # dL/dL
    # Add(h = x @ w, b) sends dh to x @ w and dh summed over rows to b, all of b's gradient
    add = by_node[h._node]
    np.testing.assert_allclose(add.input_grads[0], dh)
    np.testing.assert_allclose(add.input_grads[1], dh.sum(axis=0))
    np.testing.assert_allclose(add.input_grads[1], b.grad.data)
    # the leaves' gradients are the sums of what the steps sent them
    for leaf, expected in ((x, grads[2]), (w, grads[3]), (b, grads[4])):
        sent = [
            g
            for s in trace.steps
            for parent, g in zip(s.node.parents, s.input_grads)
            if parent is leaf._leaf and g is not None
        ]
        np.testing.assert_allclose(sum(sent), expected.data)
        np.testing.assert_allclose(leaf.grad.data, expected.data)


def test_input_grads_are_none_where_nothing_is_sent():
    x, _, _ = model()
    y = (x * np.float64(3.0)).sum(axis=1).sum()  # a constant operand, axis and keepdims
    trace = ag.trace_backward(y)
    mul = next(s for s in trace.steps if s.op == "Mul")
    assert mul.input_grads[0].shape == x.shape and mul.input_grads[1] is None
    reduction = trace.steps[1]
    assert reduction.op == "Sum" and reduction.input_grads[1:] == (None, None)


def test_grad_accumulates_exactly_as_backward_does():
    leaves_a, leaves_b = model(1), model(1)
    for leaves, run in ((leaves_a, lambda y: y.backward()), (leaves_b, ag.trace_backward)):
        for _ in range(2):  # the second pass adds into the first's .grad
            run(loss_of(*leaves)[0])
    for a, b in zip(leaves_a, leaves_b):
        assert a.grad.dtype == b.grad.dtype
        np.testing.assert_array_equal(a.grad.data, b.grad.data)


def test_a_given_gradient_is_passed_to_backward():
    x, w, _ = model()
    out = x @ w
    seed = np.arange(6.0).reshape(3, 2)
    trace = ag.trace_backward(out, seed)
    np.testing.assert_array_equal(trace.steps[0].output_grad, seed)
    np.testing.assert_allclose(w.grad.data, x.data.T @ seed)
    with pytest.raises(RuntimeError, match="needs a gradient"):
        ag.trace_backward(x @ w)


def test_retained_gradients_are_kept_as_backward_keeps_them():
    x, w, b = model()
    loss, (h, _) = loss_of(x, w, b)
    h.retain_grad()
    trace = ag.trace_backward(loss)
    step = next(s for s in trace.steps if s.node is h._node)
    np.testing.assert_allclose(h.grad.data, step.output_grad)


def test_the_trace_keeps_copies_the_engine_and_the_user_cannot_change():
    x, w, b = model()
    trace = ag.trace_backward(loss_of(x, w, b)[0])
    step = next(s for s in trace.steps if s.op == "Add" and s.node.parents[1] is b._leaf)
    kept = step.input_grads[1].copy()
    b.grad.data[...] = 123.0  # the user changes .grad in place
    np.testing.assert_array_equal(step.input_grads[1], kept)


def test_each_leaf_is_complete_once_at_the_last_step_sending_to_it():
    x, w, b = model()
    trace = ag.trace_backward(loss_of(x, w, b)[0])
    done = [leaf for s in trace.steps for leaf in s.completes]
    assert sorted(map(id, done)) == sorted(map(id, [x._leaf, w._leaf, b._leaf]))
    for i, step in enumerate(trace.steps):
        for leaf in step.completes:
            later = [p for s in trace.steps[i + 1 :] for p in s.node.parents]
            assert leaf not in later
    # x is used twice (x @ w and x.sum()): complete only after both
    senders = [i for i, s in enumerate(trace.steps) if x._leaf in s.node.parents]
    assert len(senders) == 2 and x._leaf in trace.steps[max(senders)].completes


def every_builtin_function():
    modules = [
        "autograd.ops.arithmetic",
        "autograd.ops.reductions",
        "autograd.ops.selection",
        "autograd.ops.shape",
        "autograd.ops.softmax",
        "autograd.ops.unary",
        "nn.conv",
        "nn.pooling",
        "nn.dropout",
        "nn.functional",
    ]
    for name in modules:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ag.Function) and cls is not ag.Function and cls.__module__ == name:
                yield cls


@pytest.mark.parametrize("function", list(every_builtin_function()), ids=lambda f: f.__name__)
def test_every_builtin_function_gives_its_formula(function):
    assert isinstance(function.__dict__.get("formula"), str) and function.formula.startswith("d")


def test_steps_carry_formulas_and_a_user_function_gives_none():
    class Double(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    x, _, _ = model()
    trace = ag.trace_backward(Double.apply(x.relu()).sum())
    assert [s.op for s in trace.steps] == ["Sum", "Double", "Relu"]
    assert [s.formula for s in trace.steps] == [Sum.formula, "", "dx = grad · (x > 0)"]


def test_a_cnn_step_by_step_matches_its_parameters_gradients():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    x = ag.Tensor(rng.normal(size=(2, 1, 6, 6)).astype(np.float32))
    trace = ag.trace_backward(net(x).sum())
    assert [s.op for s in trace.steps] == ["Sum", "Reshape", "MaxPool2d", "Relu", "Conv2d"]
    conv = trace.steps[-1]
    np.testing.assert_allclose(conv.input_grads[1], net[0].weight.grad.data)
    assert conv.input_grads[0] is None  # the input needs no gradient
    assert all(s.formula for s in trace.steps)


def test_nothing_watches_outside_a_trace():
    x, w, b = model()
    trace = ag.trace_backward(loss_of(x, w, b)[0])
    assert state.watchers == ()
    count = len(trace.steps)
    loss_of(x, w, b)[0].backward()  # a later backward is not recorded anywhere
    assert len(trace.steps) == count
    with pytest.raises(ValueError, match="grad of shape"):
        ag.trace_backward(loss_of(x, w, b)[0], grad=np.ones(2))
    assert state.watchers == ()
