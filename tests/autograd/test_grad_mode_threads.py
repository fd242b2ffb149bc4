"""Grad mode is per thread, as in PyTorch: no_grad, set_grad_enabled and backward()
change only the calling thread's mode, and a new thread starts with recording on."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

import autograd as ag

TIMEOUT_S = 10


def run_in_thread(target: Callable[[], object]) -> threading.Thread:
    """`target` running in a new thread (tests read its results after join)."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def f64(values) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_no_grad_in_one_thread_leaves_recording_on_in_another():
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        with ag.no_grad():
            inside.set()
            done.wait(TIMEOUT_S)

    thread = run_in_thread(other)
    assert inside.wait(TIMEOUT_S)
    try:
        assert ag.is_grad_enabled()
        assert (f64([1.0]) * 2).requires_grad
    finally:
        done.set()
        thread.join(TIMEOUT_S)


def test_a_new_thread_starts_with_recording_on_whatever_its_creator_has():
    seen: list[bool] = []
    with ag.no_grad():
        thread = run_in_thread(lambda: seen.append((f64([1.0]) * 2).requires_grad))
        thread.join(TIMEOUT_S)
    assert seen == [True]


class WaitInBackward(ag.Function):
    """The identity, whose backward signals `inside` and waits for `release`."""

    inside = threading.Event()
    release = threading.Event()

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        WaitInBackward.inside.set()
        WaitInBackward.release.wait(TIMEOUT_S)
        return grad


def test_backward_in_one_thread_leaves_recording_on_in_another():
    WaitInBackward.inside.clear()
    WaitInBackward.release.clear()
    thread = run_in_thread(lambda: WaitInBackward.apply(f64([1.0, 2.0])).sum().backward())
    assert WaitInBackward.inside.wait(TIMEOUT_S)  # the other thread is inside backward now
    try:
        assert ag.is_grad_enabled()
        assert (f64([1.0]) * 2).requires_grad
    finally:
        WaitInBackward.release.set()
        thread.join(TIMEOUT_S)
    assert ag.is_grad_enabled()


def test_two_threads_training_at_once_record_every_step_and_get_the_serial_gradients():
    steps = 300
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((8, 5)), rng.standard_normal((5, 3))) for _ in range(steps)]

    def gradients() -> tuple[int, list[np.ndarray]]:
        recorded, grads = 0, []
        for x, w in data:
            w = ag.Tensor(w, requires_grad=True)
            loss = (ag.Tensor(x) @ w).tanh().sum()
            recorded += loss.requires_grad
            loss.backward()
            grads.append(w.grad.data)
        return recorded, grads

    serial = gradients()[1]
    results: dict[int, tuple[int, list[np.ndarray]]] = {}
    threads = [run_in_thread(lambda i=i: results.__setitem__(i, gradients())) for i in range(2)]
    for thread in threads:
        thread.join(60)
    for recorded, grads in results.values():
        assert recorded == steps
        for got, expected in zip(grads, serial):
            np.testing.assert_array_equal(got, expected)
    assert len(results) == 2
    assert ag.is_grad_enabled()


def test_set_grad_enabled_called_alone_switches_this_threads_mode_at_once():
    try:
        ag.set_grad_enabled(False)
        assert not (f64([1.0]) * 2).requires_grad
    finally:
        ag.set_grad_enabled(True)
    assert (f64([1.0]) * 2).requires_grad


def test_set_grad_enabled_as_a_context_restores_the_mode_before_it():
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
        with ag.set_grad_enabled(True):
            assert ag.is_grad_enabled()
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_acts_only_while_the_function_runs():
    @ag.set_grad_enabled(False)
    def records() -> bool:
        return (f64([1.0]) * 2).requires_grad

    assert ag.is_grad_enabled()  # decorating switched nothing
    assert records() is False
    assert ag.is_grad_enabled()


def test_a_no_grad_decorated_function_running_in_two_threads_restores_each_threads_mode():
    @ag.no_grad()
    def wait(inside: threading.Event, release: threading.Event) -> None:
        inside.set()
        release.wait(TIMEOUT_S)

    events = {name: (threading.Event(), threading.Event()) for name in ("on", "off")}
    after: dict[str, bool] = {}

    def call(name: str) -> None:
        ag.set_grad_enabled(name == "on")
        wait(*events[name])
        after[name] = ag.is_grad_enabled()

    first = run_in_thread(lambda: call("on"))
    assert events["on"][0].wait(TIMEOUT_S)
    second = run_in_thread(lambda: call("off"))
    assert events["off"][0].wait(TIMEOUT_S)  # both calls are inside wait() now
    for name, thread in (("on", first), ("off", second)):  # the first one in leaves first
        events[name][1].set()
        thread.join(TIMEOUT_S)
    assert after == {"on": True, "off": False}
