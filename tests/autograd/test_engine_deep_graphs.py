"""Long chains of operations: no recursion in the graph walk, linear time."""

from __future__ import annotations

import sys
import time

import numpy as np

import autograd as ag

CHAIN = 100_000


def test_chain_of_100k_multiplications_backpropagates_without_recursion_error():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(CHAIN):
        y = y * 1.0001
    y.sum().backward()
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(x.grad.data, [1.0001**CHAIN] * 2, rtol=1e-9)
    assert elapsed < 20, f"100k-op chain took {elapsed:.1f} s"


def test_chain_of_100k_additions_backpropagates_with_recursion_limit_untouched():
    limit = sys.getrecursionlimit()
    x = ag.Tensor(np.array(3.0), requires_grad=True)
    y = x
    for _ in range(CHAIN):
        y = y + 0.0
    y.backward()
    assert x.grad.item() == 1.0
    assert sys.getrecursionlimit() == limit


def test_chain_of_100k_ops_can_be_dropped_without_backward():
    x = ag.Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(CHAIN):
        y = y * 1.0
    del y  # freeing a long chain of nodes must not overflow the C stack either
    assert x.grad is None


def test_deep_chain_second_derivative_is_computed_iteratively():
    x = ag.Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(2_000):
        y = y * 1.0 + 0.0
    (g,) = ag.grad(y * y, x, create_graph=True)  # d(x²)/dx = 2x
    (h,) = ag.grad(g, x)
    assert g.item() == 1.0
    assert h.item() == 2.0
