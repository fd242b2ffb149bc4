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

The mode is per thread, like grad mode: it is a watcher (autograd.modes), and
when off it costs nothing beyond the core's test for watchers.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from autograd.modes import Watcher, state, watching

if TYPE_CHECKING:
    from autograd.function import Node
    from autograd.tensor import Tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """An operation produced NaN or inf while `detect_anomaly()` was active."""


class detect_anomaly(watching):
    """Context manager and decorator: stop at the first op whose forward or backward
    makes NaN or inf, naming the op and the user's line that created it."""

    def __init__(self, check_forward: bool = True):
        self.check_forward = check_forward
        super().__init__(_AnomalyWatcher(check_forward))

    def _recreate_cm(self) -> detect_anomaly:
        return detect_anomaly(self.check_forward)


def is_enabled() -> bool:
    """True inside detect_anomaly() in this thread."""
    return any(isinstance(w, _AnomalyWatcher) for w in state.watchers)


class _AnomalyWatcher(Watcher):
    def __init__(self, check_forward: bool):
        self.check_forward = check_forward
        self.in_backward = 0  # > 0 while a node's backward runs: its ops are checked with it

    def recorded(self, node: Node, args: tuple, kwargs: dict, out: Tensor) -> None:
        node.created_at = user_frame()
        kinds = non_finite(out.data) if self.check_forward and not self.in_backward else ""
        if kinds:
            raise AnomalyError(
                f"{node.function.__name__} produced {kinds} in its forward, "
                f"created at {_where(node.created_at)}"
            )

    def before(self, node: Node, grad: Tensor) -> None:
        self.in_backward += 1

    def after(self, node: Node, input_grads: Sequence[Tensor | None]) -> None:
        self.in_backward -= 1
        for i, g in enumerate(input_grads):
            kinds = non_finite(g.data) if g is not None else ""
            if kinds:
                name = node.function.__name__
                raise AnomalyError(
                    f"{name} produced {kinds} in its backward (the gradient of its input {i}); "
                    f"the {name} was created at {_where(node.created_at)}"
                )


def non_finite(array: np.ndarray) -> str:
    """What non-finite values `array` holds ('nan', 'inf', '-inf', joined by 'and'), or ''."""
    if not np.issubdtype(array.dtype, np.floating) or np.isfinite(array).all():
        return ""
    tests = (("nan", np.isnan), ("inf", np.isposinf), ("-inf", np.isneginf))
    return " and ".join(kind for kind, test in tests if test(array).any())


def user_frame(*also_outside: str) -> traceback.FrameSummary | None:
    """The innermost frame on the stack whose code is outside the autograd package
    and outside the folders `also_outside` (a library built on autograd, as nn)."""
    skipped = (_PACKAGE_DIR, *also_outside)
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(skipped):
        frame = frame.f_back
    if frame is None:
        return None
    return traceback.FrameSummary(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def _where(frame: traceback.FrameSummary | None) -> str:
    if frame is None:
        return "an unknown line (it was created outside detect_anomaly())"
    return f"{frame.filename}:{frame.lineno}: `{frame.line}`"
