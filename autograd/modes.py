"""The switches: every setting that changes what the engine records, in one place.

Each setting is per thread, as in PyTorch: a thread sees only its own, and a new
thread starts with recording on and nothing watching.

- Grad mode (`no_grad`, `set_grad_enabled`): whether `Function.apply` records the
  graph at all.
- Watchers: the features that observe the engine (`detect_anomaly`,
  `retain_grads`, the labels of a gradient's graph, `trace_backward`, the ONNX
  exporter) are `Watcher`s switched on for a block with `watching(...)`. The core
  tells them what happens at three named points, and with none on, each point
  costs one test of an empty tuple.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograd.function import Node
    from autograd.tensor import Tensor


class Watcher:
    """Something told at the core's named points; each method does nothing unless overridden."""

    def recorded(self, node: Node, args: tuple, kwargs: dict, out: Tensor) -> None:
        """`Function.apply` ran `node`'s forward on `args` and made `out`; the node is
        linked into the graph when `out._node is node` (else nothing was recorded)."""

    def before(self, node: Node, grad: Tensor) -> None:
        """The backward walk is about to run `node`'s backward on `grad`, dL/d(output)
        summed over all the output's uses."""

    def after(self, node: Node, input_grads: Sequence[Tensor | None]) -> None:
        """`node`'s backward returned `input_grads`, one per input (None: no gradient)."""


class _Switches(threading.local):
    """This thread's settings; a new thread starts with these defaults."""

    grad_enabled = True
    watchers: tuple[Watcher, ...] = ()


state = _Switches()


def is_grad_enabled() -> bool:
    """True when operations record a graph in this thread."""
    return state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Set this thread's grad mode inside a `with` block or a decorated function."""

    def __init__(self, mode: bool):
        self.mode = mode
        self.previous: list[bool] = []  # a stack: one object may be entered again inside itself

    def __enter__(self) -> None:
        self.previous.append(state.grad_enabled)
        state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self.previous.pop()

    def _recreate_cm(self) -> _GradMode:
        """A fresh one for each call of a decorated function, so that threads (and
        recursive calls) calling it at once never share one stack."""
        return _GradMode(self.mode)


class set_grad_enabled(_GradMode):
    """Switch graph recording on or off for this thread, as torch.set_grad_enabled:
    at once when called (`ag.set_grad_enabled(False)`); in a `with` block or as a
    decorator, the previous mode comes back after the block or each call."""

    def __init__(self, mode: bool):
        super().__init__(bool(mode))
        super().__enter__()  # takes effect now, as if the `with` had begun
        self.entered_at_init = True

    def __enter__(self) -> None:
        if self.entered_at_init:  # `with set_grad_enabled(m):` right after __init__
            self.entered_at_init = False
        else:
            super().__enter__()

    def __call__(self, function: Any) -> Any:
        if self.entered_at_init:  # a decorator acts only while the function runs
            self.entered_at_init = False
            super().__exit__()
        return super().__call__(function)


class no_grad(_GradMode):
    """Context manager and decorator: nothing inside records a graph."""

    def __init__(self):
        super().__init__(False)


def with_watchers(watchers: tuple[Watcher, ...]) -> tuple[Watcher, ...]:
    """This thread's watchers with `watchers` added, each replacing one of its class."""
    replaced = {type(w) for w in watchers}
    return tuple([w for w in state.watchers if type(w) not in replaced]) + watchers


class watching(contextlib.ContextDecorator):
    """Switch watchers on for this thread inside a `with` block or a decorated function.

    Inside, a watcher replaces one of its own class that was on, so the innermost
    setting holds (`detect_anomaly(check_forward=False)` inside `detect_anomaly()`).
    """

    def __init__(self, *watchers: Watcher):
        self.watchers = watchers
        self.previous: list[tuple[Watcher, ...]] = []  # a stack, as for grad mode

    def __enter__(self) -> None:
        self.previous.append(state.watchers)
        state.watchers = with_watchers(self.watchers)

    def __exit__(self, *exc: object) -> None:
        state.watchers = self.previous.pop()

    def _recreate_cm(self) -> watching:
        return type(self)(*self.watchers)
