"""Function: one differentiable operation, its forward and its vector-Jacobian product.

Every operation in the engine, built-in or user-defined, is a subclass of
`Function` with two static methods:

    forward(ctx, *arrays, **options) -> ndarray
        computes the result on plain NumPy arrays and may call
        `ctx.save_for_backward(...)` with what backward will need;
    backward(ctx, grad) -> gradient per positional input
        receives dL/d(output) as a Tensor and returns dL/d(input) for each
        positional input (a tuple when there are several, None where an
        input needs no gradient), written with Tensor operations.

`MyOp.apply(*args)` runs forward and, when gradients are wanted, records the
context `ctx` as the node of the graph that links the result to its inputs.
Because backward is written with Tensor operations, running it with recording
switched on (`create_graph=True`) builds the graph of the gradient itself.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
import weakref
from typing import Any

import numpy as np

from autograd import anomaly
from autograd.tensor import Tensor

_OUTPUT = object()  # stands for the output among the saved values


class _ThreadState(threading.local):
    """Per-thread switches: each thread sees its own, and a new thread starts with these."""

    grad_enabled = True
    retaining_grads = False  # inside ag.retain_grads(): results keep their values and gradients
    backward_step: str | None = None  # what the engine is running, when create_graph records it


_thread = _ThreadState()


def is_grad_enabled() -> bool:
    """True when operations record a graph in this thread."""
    return _thread.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Set this thread's grad mode inside a `with` block or a decorated function."""

    def __init__(self, mode: bool):
        self.mode = mode
        self.previous: list[bool] = []  # a stack: one object may be entered again inside itself

    def __enter__(self) -> None:
        self.previous.append(_thread.grad_enabled)
        _thread.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _thread.grad_enabled = self.previous.pop()

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
    """Node manager and decorator: nothing inside records a graph."""

    def __init__(self):
        super().__init__(False)


class Node:
    """A node of the graph: what one Function call keeps for its backward.

    `parents[i]` is where the gradient of input i goes: the node that made that
    input, the input itself when it is a leaf that requires grad, or None.
    """

    function: type[Function]
    parents: tuple[Node | Tensor | None, ...]
    needs_input_grad: tuple[bool, ...]
    input_shapes: tuple[tuple[int, ...] | None, ...]
    input_dtypes: tuple[np.dtype | None, ...]
    # For ag.draw_graph: the output's shape and dtype, and the output itself while it lives.
    output_shape: tuple[int, ...]
    output_dtype: np.dtype
    output: weakref.ref[Tensor]
    # For ag.detect_anomaly: the line of user code that created the node, noted while on.
    created_at: traceback.FrameSummary | None = None
    # For t.retain_grad() and ag.retain_grads(): backward keeps dL/d(output) when this is set,
    # in the output's .grad, and under ag.retain_grads() also here, beside the output's array.
    retains_grad = False
    kept_value: np.ndarray | None = None
    kept_grad: np.ndarray | None = None
    # For ag.draw_graph of a gradient's graph: the backward step that recorded this node
    # ("Mul.backward", or the engine's sum of gradients), None for forward nodes.
    made_by: str | None = None

    def __init__(self):
        self._saved: tuple[Any, ...] = ()
        self._output_data: np.ndarray | None = None

    def save_for_backward(self, *values: Any) -> None:
        """Keep values for backward, freed after it; arrays come back as `saved_tensors`."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        """The saved values as Tensors; raises once backward has freed them."""
        if self._saved is None:
            raise RuntimeError(
                f"Cannot run {self.function.__name__}.backward again: its saved tensors were "
                "freed by the first backward. Pass retain_graph=True to the first "
                "backward() (or ag.grad()) to backpropagate through the graph twice."
            )
        return tuple(self._output_tensor() if v is _OUTPUT else v for v in self._saved)

    def _output_tensor(self) -> Tensor:
        """The saved output, made anew: holding the output Tensor itself would make a
        reference cycle (output -> node -> output) that only the cyclic GC could free."""
        out = Tensor(self._output_data)
        out.requires_grad, out._node = True, self
        return out

    def release(self) -> None:
        """Free the saved tensors, so the arrays they hold can go."""
        self._saved = self._output_data = None


def _parent(value: Any) -> Node | Tensor | None:
    """Where the gradient for an input goes: its node, itself if a leaf, or nowhere."""
    if not isinstance(value, Tensor) or not value.requires_grad:
        return None
    return value._node if value._node is not None else value


class Function:
    """Base class of differentiable operations; see the module docstring."""

    @staticmethod
    def forward(ctx: Node, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on the inputs' arrays and record the node when grads are wanted."""
        ctx = Node()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        try:
            result = cls.forward(ctx, *arrays, **kwargs)
        except ValueError as error:  # NumPy's shape errors, told with the op and its operands
            shapes = " and ".join(str(a.shape) for a in args if isinstance(a, Tensor))
            raise ValueError(f"{cls.__name__} of shapes {shapes}: {error}") from error
        out = Tensor(result)
        if anomaly.enabled:  # ag.detect_anomaly(): note the caller's line, stop at nan/inf
            ctx.created_at = anomaly.check_forward(cls, out.data)
        if not _thread.grad_enabled:
            return out
        parents = tuple([_parent(a) for a in args])
        needs_input_grad = tuple([p is not None for p in parents])
        if True not in needs_input_grad or out.data.dtype.kind != "f":  # integers: no gradient
            return out
        out.requires_grad = True
        out._node = ctx
        ctx.function, ctx.parents, ctx.needs_input_grad = cls, parents, needs_input_grad
        ctx.input_shapes = tuple([a.data.shape if isinstance(a, Tensor) else None for a in args])
        ctx.input_dtypes = tuple([a.data.dtype if isinstance(a, Tensor) else None for a in args])
        ctx.output_shape, ctx.output_dtype = out.data.shape, out.data.dtype
        ctx.output = weakref.ref(out)
        if _thread.retaining_grads:  # ag.retain_grads(): keep the value; backward, the gradient
            ctx.retains_grad, ctx.kept_value = True, out.data
        if _thread.backward_step is not None:  # recorded by a backward with create_graph=True
            ctx.made_by = _thread.backward_step
        if ctx._saved:
            ctx._saved = tuple([_saved_as_tensor(v, args, arrays, result, out) for v in ctx._saved])
            if any([v is _OUTPUT for v in ctx._saved]):
                ctx._output_data = out.data  # what saved_tensors rebuilds the output from
        return out


def _saved_as_tensor(value: Any, args: tuple, arrays: list, result: Any, out: Tensor) -> Any:
    """An input's or the output's array comes back as that Tensor, so that a
    backward written with Tensor ops differentiates through it (grad of grad);
    any other saved array is a constant Tensor, and anything else comes back as is."""
    if isinstance(value, Tensor):
        return value
    for arg, array in zip(args, arrays):
        if value is array and isinstance(arg, Tensor):
            return arg
    if value is result or value is out.data:
        return _OUTPUT
    return Tensor(value) if isinstance(value, np.ndarray) else value
