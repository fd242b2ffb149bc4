"""Function and Node: one differentiable operation, and one recorded call of it.

Every operation in the engine, built-in or user-defined, is a subclass of
`Function` with two static methods:

    forward(ctx, *arrays, **options) -> ndarray
        computes the result on plain NumPy arrays and may call
        `ctx.save_for_backward(...)` with what backward will need;
    backward(ctx, grad) -> gradient per positional input
        receives dL/d(output) as a Tensor and returns dL/d(input) for each
        positional input (a tuple when there are several, None where an
        input needs no gradient), written with Tensor operations.

`ctx` is the call's `Node` (PyTorch names it ctx; the built-in ops call it
`node`). What backward gets from `ctx.saved_tensors`: an input's array as that
input Tensor, the output's array as the output, so that double backward
differentiates through them; anything else saved (an array computed inside
forward, `np.cos(x)` say) is a constant for double backward, as in PyTorch. To
differentiate through such a value, compute it in backward with Tensor ops.

`MyOp.apply(*args)` runs forward and, when a gradient is wanted, links the node
into the graph. Because backward is written with Tensor operations,
running it with recording on (`create_graph=True`) builds the graph of the
gradient itself.

Why the graph links nodes, not tensors: a tensor is a value that the user holds
and may drop, or replace; a node is the operation that made it, and keeps just
what its vector-Jacobian product needs (the saved arrays, the inputs' shapes)
and where each input's gradient goes. So the graph lives exactly as long as its
root does, whatever intermediate tensors are gone, and backward walks operations,
which is what it differentiates. A tensor the user made that requires grad has a
`Leaf` node, where its gradient ends up, so that every link is a node.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograd.modes import state
from autograd.tensor import Tensor

_OUTPUT = object()  # stands for the output among the saved values


class Node:
    """One recorded call of a Function: what its backward needs, and where the
    gradients it computes go.

    `parents[i]` is where the gradient of input i goes: the node that made that
    input, the `Leaf` of a tensor the user made, or None (a constant, a number).
    Ops may set any other attribute on their node in forward, for backward.
    """

    # Slots for what every node holds (made and freed once per operation, so kept lean);
    # ops and watchers may set any other attribute.
    __slots__ = (
        "function",
        "parents",
        "inputs",  # (shape, dtype) of each input, None for a non-tensor argument
        "output_shape",
        "output_dtype",
        "output",  # a weak reference to the result, while it lives (drawing, retained grads)
        "_saved",
        "_versions",
        "_output_data",
        "__dict__",
    )
    is_leaf = False
    # Set by watchers (autograd.modes), read by what they serve:
    created_at: traceback.FrameSummary | None = None  # detect_anomaly: the user's line
    retains_grad = False  # t.retain_grad(), ag.retain_grads(): backward keeps dL/d(output)
    kept_value: np.ndarray | None = None  # ag.retain_grads(): the output's value ...
    kept_grad: np.ndarray | None = None  # ... and its gradient, beside the node
    made_by: str | None = None  # create_graph: the backward step that recorded this node

    def __init__(self, function: type[Function]):
        self.function = function
        self._saved: tuple[Any, ...] | None = ()
        self._versions: tuple[int | None, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        """Keep values for backward, freed after it; arrays come back as `saved_tensors`."""
        self._saved = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The saved values as Tensors; raises once backward has freed them, or when a
        saved input was changed in place since it was saved."""
        if self._saved is None:
            raise RuntimeError(
                f"Cannot run {self.function.__name__}.backward again: its saved tensors were "
                "freed by the first backward. Pass retain_graph=True to the first "
                "backward() (or ag.grad()) to backpropagate through the graph twice."
            )
        for value, version in zip(self._saved, self._versions):
            if version is not None and value._version != version:
                raise RuntimeError(
                    f"A tensor of shape {value.shape} that {self.function.__name__} saved for "
                    f"its backward was modified in place after the forward (version "
                    f"{value._version}, saved at {version}; e.g. an optimizer step). Compute "
                    "the forward again after the change, or step after the last backward."
                )
        return tuple([self._output_tensor() if v is _OUTPUT else v for v in self._saved])

    def link(
        self, out: Tensor, result: Any, args: Sequence[Any], arrays: list, parents: tuple
    ) -> None:
        """Make this node the one that made `out` (forward's `result`) from `args`, whose
        arrays forward saw as `arrays`."""
        self.parents = parents
        self.inputs = tuple(
            [(a.data.shape, a.data.dtype) if isinstance(a, Tensor) else None for a in args]
        )
        self.output_shape, self.output_dtype = out.data.shape, out.data.dtype
        self.output = weakref.ref(out)
        out.requires_grad, out._node = True, self
        if self._saved:
            saved = [_tie(value, args, arrays, (result, out.data)) for value in self._saved]
            self._saved = tuple(saved)
            self._versions = tuple([v._version if isinstance(v, Tensor) else None for v in saved])
            if any([v is _OUTPUT for v in saved]):
                self._output_data = out.data  # what saved_tensors rebuilds the output from

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each input, whether a gradient goes to it."""
        return tuple([p is not None for p in self.parents])

    @property
    def input_shapes(self) -> tuple[tuple[int, ...] | None, ...]:
        """The shape of each input, None for a non-tensor argument."""
        return tuple([spec and spec[0] for spec in self.inputs])

    def vjp(self, grad: Tensor) -> list[Tensor | None]:
        """The function's backward on `grad`, checked: one gradient per input, each of
        its input's shape, and in its input's dtype (an op mixing float32 and float64
        computes in float64; the float32 input still gets a float32 gradient)."""
        returned = self.function.backward(self, grad)
        input_grads = list(returned) if isinstance(returned, tuple) else [returned]
        name = self.function.__name__
        if len(input_grads) != len(self.parents):
            raise RuntimeError(
                f"{name}.backward returned {len(input_grads)} gradients "
                f"for {len(self.parents)} inputs"
            )
        for i, (g, parent) in enumerate(zip(input_grads, self.parents)):
            if g is None or parent is None:
                continue
            if not isinstance(g, Tensor):
                g = input_grads[i] = Tensor(np.asarray(g))
            shape, dtype = self.inputs[i]
            if g.data.shape != shape:
                raise RuntimeError(
                    f"{name}.backward returned a gradient of shape {g.shape} "
                    f"for input {i} of shape {shape}"
                )
            if g.data.dtype != dtype:
                input_grads[i] = g.astype(dtype)
        return input_grads

    def release(self) -> None:
        """Free the saved tensors, so the arrays they hold can go."""
        self._saved = self._output_data = None

    def _output_tensor(self) -> Tensor:
        """The saved output, made anew: holding the output Tensor itself would make a
        reference cycle (output -> node -> output) that only the cyclic GC could free."""
        out = Tensor(self._output_data)
        out.requires_grad, out._node = True, self
        return out


class Leaf(Node):
    """The node of a tensor the user made that requires grad: where its gradient ends.

    It holds the tensor weakly: a tensor nobody holds has no `.grad` to read.
    Backward adds into `.grad` under one lock, so threads that share parameters
    lose no update.
    """

    is_leaf = True
    function = None
    parents = ()
    accumulating = threading.Lock()

    def __init__(self, tensor: Tensor):  # no Function, nothing saved: Node's __init__ is not run
        self.tensor = weakref.ref(tensor)
        self.output_shape, self.output_dtype = tensor.data.shape, tensor.data.dtype


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
        """Run forward on the inputs' arrays; when a gradient is wanted, link the
        result to its inputs through a new node of the graph."""
        node = Node(cls)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        if len(arrays) == 2:  # the same array twice (x * x.detach()): a view for the second
            if arrays[0] is arrays[1] and isinstance(arrays[1], np.ndarray):
                arrays[1] = arrays[1].view()
        elif len(arrays) > 2:
            _one_array_per_position(arrays)
        try:
            result = cls.forward(node, *arrays, **kwargs)
        except ValueError as error:  # NumPy's shape errors, told with the op and its operands
            shapes = " and ".join(str(a.shape) for a in args if isinstance(a, Tensor))
            raise ValueError(f"{cls.__name__} of shapes {shapes}: {error}") from error
        out = Tensor(result) if type(result) is not np.ndarray else Tensor.wrap(result)
        parents = tuple([node_of(a) for a in args]) if state.grad_enabled else ()
        if any(parents) and out.data.dtype.kind == "f":  # integers have no gradient
            node.link(out, result, args, arrays, parents)
        for watcher in state.watchers:  # features that observe the forward (autograd.modes)
            watcher.recorded(node, args, kwargs, out)
        return out


def node_of(value: Any) -> Node | None:
    """Where a gradient for `value` goes: the node that made it, its Leaf if the user
    made it, or None when it needs no gradient."""
    if not isinstance(value, Tensor) or not value.requires_grad:
        return None
    if value._node is not None:
        return value._node
    leaf = value._leaf
    if leaf is None or leaf.tensor() is not value:  # none yet, or copied from another tensor
        leaf = value._leaf = Leaf(value)
    return leaf


def _one_array_per_position(arrays: list[Any]) -> None:
    """Give each position its own array object (a view where the same one comes
    again, as in `x * x.detach()`), so that a saved array names one input."""
    seen: set[int] = set()
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            if id(a) in seen:
                arrays[i] = a.view()
            seen.add(id(arrays[i]))


def _tie(value: Any, args: Sequence[Any], arrays: list[Any], results: tuple) -> Any:
    """A saved value as backward sees it. An input's array, matched by its position,
    comes back as that input Tensor, so that a backward written with Tensor ops
    differentiates through it (grad of grad); the output's comes back as the output.
    Anything else saved is a constant for double backward, as in PyTorch: a saved
    array becomes a Tensor that requires no grad, and other values come back as is."""
    for arg, array in zip(args, arrays):
        if value is array and isinstance(arg, Tensor):
            return arg
    if value is results[0] or value is results[1]:  # a NumPy scalar result was made an array
        return _OUTPUT
    return Tensor(value) if isinstance(value, np.ndarray) else value
