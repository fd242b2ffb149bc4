"""Every switch is per thread (autograd.modes): anomaly mode, retain_grads and the
labels of a gradient's graph, switched on in one thread, are off in another, as grad
mode is (test_grad_mode_threads.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

import autograd as ag
from autograd import anomaly

TIMEOUT_S = 10


def while_another_thread_is_inside(switch: Callable[[], object], check: Callable[[], None]) -> None:
    """Run `check` here while another thread sits inside the `with switch():` block."""
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        with switch():
            inside.set()
            done.wait(TIMEOUT_S)

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    assert inside.wait(TIMEOUT_S)
    try:
        check()
    finally:
        done.set()
        thread.join(TIMEOUT_S)


def f64(values) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_anomaly_mode_in_one_thread_is_off_in_another():
    def check() -> None:
        assert not anomaly.is_enabled()
        y = f64([0.0]).log()  # -inf: anomaly mode would stop here
        assert y._node.created_at is None

    while_another_thread_is_inside(ag.detect_anomaly, check)


def test_anomaly_mode_here_is_on_whatever_another_thread_does():
    with ag.detect_anomaly():
        while_another_thread_is_inside(ag.no_grad, lambda: None)
        with pytest.raises(ag.AnomalyError):
            f64([0.0]).log()


def test_retain_grads_in_one_thread_keeps_nothing_in_another():
    def check() -> None:
        x = f64([1.0, 2.0])
        h = x * 3
        h.sum().backward()
        assert h.grad is None and not h.retains_grad

    while_another_thread_is_inside(ag.retain_grads, check)


def test_the_labels_of_a_gradients_graph_stay_in_the_thread_that_makes_it():
    labelled: list[str | None] = []

    class LabelsAnotherThreadsOp(ag.Function):
        """Its backward records an op in another thread while this one is labelling."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors

            def other() -> None:
                labelled.append((f64([1.0]) * 2)._node.made_by)

            thread = threading.Thread(target=other)
            thread.start()
            thread.join(TIMEOUT_S)
            return grad * 2 * x

    x = f64([1.0])
    (g,) = ag.grad(LabelsAnotherThreadsOp.apply(x).sum(), x, create_graph=True)
    assert g._node.made_by == "LabelsAnotherThreadsOp.backward"
    assert labelled == [None]


def test_a_new_thread_starts_with_every_switch_off():
    seen = {}

    def other() -> None:
        seen["grad"] = ag.is_grad_enabled()
        seen["watchers"] = ag.modes.state.watchers

    with ag.no_grad(), ag.detect_anomaly(), ag.retain_grads():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(TIMEOUT_S)
    assert seen == {"grad": True, "watchers": ()}
