"""Memory: backward frees what the graph kept for it; retain_graph keeps it until the
root goes. Measured with tracemalloc (NumPy reports its array buffers to it) and
with weak references, with the cyclic garbage collector switched off so that
"freed" means freed by reference counting, the moment the last reference goes."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd as ag

N = 1 << 22  # 4M float64 elements: 32 MiB per array
NBYTES = N * 8
SLACK = NBYTES // 50  # 2% of one array: far below any array the graph could keep


@pytest.fixture
def memory():
    """tracemalloc running and the cyclic collector off for the test; yields `current()`."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()
        gc.collect()


def big_leaf() -> ag.Tensor:
    return ag.Tensor(np.random.default_rng(0).uniform(0.5, 2.0, N), requires_grad=True)


# Each builds a scalar from a 4M-element intermediate h = 1.5·x through one op.
GRAPHS = {
    "exp": lambda x, h: h.exp().sum(),
    "mul": lambda x, h: (h * h).sum(),
    "div": lambda x, h: (1.0 / h).sum(),
    "pow": lambda x, h: (h**1.5).sum(),
    "log": lambda x, h: h.log().sum(),
    "sqrt": lambda x, h: h.sqrt().sum(),
    "tanh": lambda x, h: h.tanh().sum(),
    "sigmoid": lambda x, h: h.sigmoid().sum(),
    "relu": lambda x, h: (h - 2.0).relu().sum(),
    "abs": lambda x, h: (h - 2.0).abs().sum(),
    "logsumexp": lambda x, h: h.logsumexp(),
    "mean": lambda x, h: h.mean(),
    "max": lambda x, h: h.max(),
    "min": lambda x, h: h.min(),
    "maximum": lambda x, h: ag.maximum(h, 2.0).sum(),
    "minimum": lambda x, h: ag.minimum(h, 2.0).sum(),
    "clip": lambda x, h: h.clip(1.0, 2.0).sum(),
    "where": lambda x, h: ag.where(x.data > 1.0, h, 0.0).sum(),
    "mask_index": lambda x, h: h[x.data > 1.0].sum(),
    "matmul": lambda x, h: (h.reshape(-1, 4) @ np.ones(4)).sum(),
}


def test_backward_frees_the_intermediate_arrays_of_an_exp_mul_sum_graph(memory):
    x = big_leaf()
    baseline = memory()
    y = (x.exp() * x).sum()
    assert memory() - baseline >= NBYTES  # exp(x) is kept for the backward of * and exp
    y.backward()
    assert memory() - baseline <= NBYTES + SLACK  # only x.grad is left
    del y
    assert memory() - baseline <= NBYTES + SLACK


@pytest.mark.parametrize("name", list(GRAPHS))
def test_backward_frees_every_array_the_op_kept_while_the_root_lives(memory, name):
    x = big_leaf()
    baseline = memory()
    y = GRAPHS[name](x, x * 1.5)
    y.backward()
    held = memory() - baseline - x.grad.data.nbytes
    assert held <= SLACK, f"{name}: {held / 2**20:.1f} MiB still held after backward"


def test_backward_frees_intermediate_tensors():
    x = ag.Tensor(np.ones(1000), requires_grad=True)
    e = x.exp()
    e_ref, e_data_ref = weakref.ref(e), weakref.ref(e.data)
    y = (e * x).sum()
    del e
    assert e_ref() is not None  # kept by the graph for backward
    gc.disable()
    try:
        y.backward()
        assert e_ref() is None and e_data_ref() is None
    finally:
        gc.enable()


def test_retain_graph_keeps_the_saved_arrays_after_backward(memory):
    x = big_leaf()
    baseline = memory()
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    assert memory() - baseline >= 2 * NBYTES  # exp(x) and x.grad
    y.backward()  # and they still serve a second backward
    np.testing.assert_allclose(x.grad.data[:3], 2 * (np.exp(x.data[:3]) * (1 + x.data[:3])))


@pytest.mark.parametrize("name", ["mul", "exp"])
def test_deleting_the_root_of_a_retained_graph_frees_its_arrays(memory, name):
    x = big_leaf()
    y = GRAPHS[name](x, x * 1.5)
    y.backward(retain_graph=True)
    x.grad = None
    baseline_with_graph = memory()
    del y
    freed = baseline_with_graph - memory()
    assert freed >= NBYTES - SLACK, f"{name}: only {freed / 2**20:.1f} MiB freed by del root"


# ops that save their own output for backward, and one (mul) that saves only its inputs
OUTPUT_SAVERS = ["mul", "exp", "div", "pow", "sqrt", "tanh", "sigmoid", "logsumexp"]


@pytest.mark.parametrize("name", OUTPUT_SAVERS)
def test_deleting_the_root_without_backward_frees_the_graph(memory, name):
    x = big_leaf()
    baseline = memory()
    y = GRAPHS[name](x, x * 1.5)
    del y
    held = memory() - baseline
    assert held <= SLACK, f"{name}: {held / 2**20:.1f} MiB held after del root"


def test_no_grad_keeps_no_intermediate_arrays(memory):
    x = big_leaf()
    baseline = memory()
    with ag.no_grad():
        y = (x.exp() * x).sum()
    assert memory() - baseline <= SLACK
    assert not y.requires_grad


def test_an_output_no_backward_needs_is_freed_while_the_graph_lives():
    x = ag.Tensor(np.ones(10), requires_grad=True)
    middle = x + 1  # the sum below keeps nothing of it for its backward
    alive = weakref.ref(middle.data)
    loss = middle.sum()
    del middle
    assert alive() is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(10))


def test_retain_grads_keeps_every_value_and_gradient_until_the_root_goes(memory):
    x = big_leaf()
    baseline = memory()
    with ag.retain_grads():
        y = ((x * 1.5) + 1.0).sum()  # two 32 MiB results that nothing else would keep
        y.backward()
    x.grad = None
    kept = memory() - baseline
    assert kept >= 4 * NBYTES - SLACK  # the values and gradients of x * 1.5 and of + 1.0
    add = y._node.parents[0]
    value, grad = weakref.ref(add.kept_value), weakref.ref(add.kept_grad)
    del add, y
    assert value() is None and grad() is None  # freed by reference counting alone
    assert memory() - baseline <= SLACK


def test_retain_grad_keeps_only_the_gradient_of_the_tensor_that_asked(memory):
    x = big_leaf()
    baseline = memory()
    h = x * 1.5
    h.retain_grad()
    y = (h + 1.0).sum()
    y.backward()
    x.grad = None
    assert NBYTES <= memory() - baseline - h.data.nbytes <= NBYTES + SLACK  # h.grad alone
    del y
    h.grad = None
    assert memory() - baseline - h.data.nbytes <= SLACK
