"""Backward from several threads into shared parameters keeps every update: adding
into a leaf's .grad is atomic, as PyTorch's AccumulateGrad is."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import autograd as ag
import nn

THREADS, STEPS = 4, 500


@pytest.fixture
def frequent_thread_switches():
    """Switch threads as often as the interpreter can, so a lost update would show."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_threads_backpropagating_into_one_linear_lose_no_gradient(frequent_thread_switches):
    lin = nn.Linear(3, 2)
    x = ag.tensor(np.ones((5, 3), np.float32))
    start = threading.Barrier(THREADS)

    def work() -> None:
        start.wait()
        for _ in range(STEPS):
            lin(x).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(lin.weight.grad.data, np.full((2, 3), 5.0 * THREADS * STEPS))
    np.testing.assert_array_equal(lin.bias.grad.data, np.full(2, 5.0 * THREADS * STEPS))
