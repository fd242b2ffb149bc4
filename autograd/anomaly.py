"""Anomaly detection: find the operation that first made a NaN or an inf.

    with ag.detect_anomaly():
        loss = model(x)      # raises AnomalyError at the first op whose output is nan/inf
        loss.backward()      # raises AnomalyError at the first op whose backward is nan/inf

While active, every operation notes the line of user code that created it
(the innermost stack frame outside the `autograd` package), every forward
result is checked, and during backward every gradient a node passes to its
inputs is checked. The error names the op and that line.

Any non-finite value counts, -inf included: `log(0)` is -inf by the rules of
arithmetic, yet it is usually where a NaN later comes from, so the forward
check stops there. Pass `check_forward=False` to check only the backward pass
(as PyTorch does), e.g. when the forward legitimately holds -inf.

When off, this costs one flag test (`anomaly.enabled`) per op application and
per backward node.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from autograd.function import Node
    from autograd.tensor import Tensor

enabled = False  # read by Function.apply and the engine; set by detect_anomaly
_check_forward = True


class _ThreadState(threading.local):
    backward_depth = 0  # > 0 while this thread's engine runs backward functions


_thread = _ThreadState()

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """An operation produced NaN or inf while `detect_anomaly()` was active."""


class detect_anomaly(contextlib.ContextDecorator):
    """Node manager and decorator: stop at the first op whose forward or backward
    makes NaN or inf, naming the op and the user's line that created it."""

    def __init__(self, check_forward: bool = True):
        self.check_forward = check_forward
        self.previous: list[tuple[bool, bool]] = []  # a stack: a decorated function may recurse

    def __enter__(self) -> None:
        global enabled, _check_forward
        self.previous.append((enabled, _check_forward))
        enabled, _check_forward = True, self.check_forward

    def __exit__(self, *exc: object) -> None:
        global enabled, _check_forward
        enabled, _check_forward = self.previous.pop()


class backward_pass:
    """Marks a backward pass: the ops that backward functions run are not checked as
    forward steps, since the node whose backward ran them is checked and named instead."""

    def __enter__(self) -> None:
        _thread.backward_depth += 1

    def __exit__(self, *exc: object) -> None:
        _thread.backward_depth -= 1


def check_forward(function: type, result: np.ndarray) -> traceback.FrameSummary | None:
    """The user's line that applies `function`; raises if `result` holds NaN or inf."""
    created_at = _user_frame()
    kinds = _non_finite(result) if _check_forward and not _thread.backward_depth else ""
    if kinds:
        raise AnomalyError(
            f"{function.__name__} produced {kinds} in its forward, created at {_where(created_at)}"
        )
    return created_at


def check_backward(node: Node, input_grads: Sequence[Tensor | None]) -> None:
    """Raises if the gradients that `node`'s backward returned hold NaN or inf."""
    for i, g in enumerate(input_grads):
        kinds = _non_finite(g.data) if g is not None else ""
        if kinds:
            name = node.function.__name__
            raise AnomalyError(
                f"{name} produced {kinds} in its backward (the gradient of its input {i}); "
                f"the {name} was created at {_where(node.created_at)}"
            )


def _non_finite(array: np.ndarray) -> str:
    """What non-finite values `array` holds ('nan', 'inf', '-inf', joined by 'and'), or ''."""
    if not np.issubdtype(array.dtype, np.floating) or np.isfinite(array).all():
        return ""
    tests = (("nan", np.isnan), ("inf", np.isposinf), ("-inf", np.isneginf))
    return " and ".join(kind for kind, test in tests if test(array).any())


def _user_frame() -> traceback.FrameSummary | None:
    """The innermost frame on the stack whose code is outside the autograd package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return None
    return traceback.FrameSummary(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _where(frame: traceback.FrameSummary | None) -> str:
    if frame is None:
        return "an unknown line (it was created outside detect_anomaly())"
    return f"{frame.filename}:{frame.lineno}: `{frame.line}`"
