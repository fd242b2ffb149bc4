"""ag.detect_anomaly: the first op to make NaN or inf, forward or backward, and its line."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import anomaly

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy on log(0), 0/0


def forward_error(op: str, kind: str, line: str) -> str:
    """The message, as a pattern, for `op` making `kind` in its forward at `line` here."""
    where = rf"\S*test_anomaly\.py:\d+: `{re.escape(line)}`"
    return rf"^{op} produced {kind} in its forward, created at {where}$"


def backward_error(op: str, kind: str, line: str) -> str:
    where = rf"\S*test_anomaly\.py:\d+: `{re.escape(line)}`"
    return (
        rf"^{op} produced {kind} in its backward \(the gradient of its input 0\); "
        rf"the {op} was created at {where}$"
    )


def test_forward_names_log_of_zero_times_zero_at_the_log():
    x = ag.tensor([0.0], requires_grad=True)
    # log(0) = -inf comes first, then -inf * 0 = nan: the error names Log, not Mul.
    with pytest.raises(ag.AnomalyError, match=forward_error("Log", "-inf", "x.log() * 0")):
        with ag.detect_anomaly():
            x.log() * 0


def test_forward_names_sqrt_of_a_negative_number():
    x = ag.tensor([4.0, -1.0], requires_grad=True)
    with pytest.raises(ag.AnomalyError, match=forward_error("Sqrt", "nan", "x.sqrt() + 1")):
        with ag.detect_anomaly():
            x.sqrt() + 1


def test_forward_is_checked_without_a_graph_too():
    with pytest.raises(ag.AnomalyError, match=forward_error("Sqrt", "nan", "ag.sqrt(-1.0)")):
        with ag.detect_anomaly(), ag.no_grad():
            ag.sqrt(-1.0)


def test_backward_names_sqrt_whose_gradient_at_zero_is_inf():
    x = ag.tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = x.sqrt().sum()  # forward: finite
        with pytest.raises(
            ag.AnomalyError,
            match=backward_error("Sqrt", "inf", "y = x.sqrt().sum()  # forward: finite"),
        ):
            y.backward()


def test_backward_names_log_of_zero_times_zero_at_the_log():
    x = ag.tensor([0.0], requires_grad=True)
    # Mul's backward is finite (grad * 0 = 0); Log's is 0 / 0 = nan.
    with ag.detect_anomaly(check_forward=False):
        y = (x.log() * 0).sum()
        with pytest.raises(
            ag.AnomalyError, match=backward_error("Log", "nan", "y = (x.log() * 0).sum()")
        ):
            y.backward()


def test_backward_names_sqrt_of_a_negative_number():
    x = ag.tensor([-1.0], requires_grad=True)
    with ag.detect_anomaly(check_forward=False):
        y = (x.sqrt() + 1).sum()
        with pytest.raises(
            ag.AnomalyError, match=backward_error("Sqrt", "nan", "y = (x.sqrt() + 1).sum()")
        ):
            y.backward()


def test_backward_of_a_graph_made_outside_anomaly_mode_names_the_op_only():
    x = ag.tensor([0.0], requires_grad=True)
    y = x.sqrt().sum()
    with ag.detect_anomaly(), pytest.raises(ag.AnomalyError, match=r"^Sqrt .* unknown line"):
        y.backward()


def test_finite_computations_run_as_usual():
    x = ag.tensor([1.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = (x.sqrt() * x.log()).sum()
        y.backward()
    assert y._node.created_at.line == "y = (x.sqrt() * x.log()).sum()"
    np.testing.assert_allclose(x.grad.data, [1.0, np.log(4.0) / 4 + 0.5], rtol=1e-6)


def test_nests_restores_and_costs_nothing_when_off():
    x = ag.tensor([0.0], requires_grad=True)
    with ag.detect_anomaly():
        with ag.detect_anomaly(check_forward=False):
            x.log()  # only backward is checked in here
        with pytest.raises(ag.AnomalyError):
            x.log()
        assert anomaly.is_enabled()  # restored after the error too
    assert not anomaly.is_enabled()
    y = x.log()
    assert y._node.created_at is None  # nothing recorded when off
    y.sum().backward()  # nor checked: the gradient is inf


def test_works_as_a_decorator():
    @ag.detect_anomaly()
    def f(x):
        return x.log()

    with pytest.raises(ag.AnomalyError, match=r"^Log produced -inf"):
        f(ag.tensor([0.0]))
    assert not anomaly.is_enabled()


def test_a_recursive_decorated_function_switches_anomaly_mode_back_off():
    mode = ag.detect_anomaly()

    @mode
    def recurse(n: int) -> None:
        if n:
            recurse(n - 1)

    recurse(2)
    assert not anomaly.is_enabled()


def test_a_backward_running_in_another_thread_does_not_stop_this_threads_forward_checks():
    inside, release = threading.Event(), threading.Event()

    class WaitInBackward(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            inside.set()
            release.wait(10)
            return grad

    x = ag.tensor([1.0], requires_grad=True)
    with ag.detect_anomaly():
        other = threading.Thread(target=lambda: WaitInBackward.apply(x).sum().backward())
        other.start()
        assert inside.wait(10)
        try:
            with pytest.raises(ag.AnomalyError, match="Log produced -inf"):
                (x * 0).log()
        finally:
            release.set()
            other.join(10)
