"""Export a model to ONNX, to run it elsewhere (ONNX Runtime, a browser, a phone).

    nn.onnx.export(model, example_input, "model.onnx")

How. The exporter is a watcher (autograd.modes): while the model runs once in eval
mode on the example, `Function.apply` tells it every call, with its argument
tensors, options and output. Each recorded call then becomes ONNX nodes through
`CONVERTERS`, one small function per Function class, so the op files still read as
math and each op's ONNX form is written once, here. Parameters become initializers
named as in `model.named_parameters()`; other constants become initializers too.

The batch. ONNX Runtime runs the file at any batch size (unless
`dynamic_batch=False`), but the recording saw one. So the model runs a second time,
on a probe of another batch size and other values (the example's elements
shuffled), and the two recordings are compared call by call: the entries of a
shape that follow the batch are written to follow it (see `_shape`), and anything
else that changed (a constant computed from the input outside the graph, as
`x > 0` or `x.data`; a path taken by a Python `if`; an option that follows the
batch) is an error naming the op and the line that made it, never a file that
silently holds the example's values.

Not covered: losses (they are not part of a model's forward), dropout in training
mode, indexing with integer arrays or masks, and the backward-only operations.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import Function, Tensor, set_grad_enabled
from autograd.anomaly import user_frame
from autograd.files import write_atomically
from autograd.modes import Watcher, watching
from autograd.ops import arithmetic, reductions, selection, unary
from autograd.ops import shape as shaping
from autograd.ops.softmax import LogSoftmax, LogSumExp, Softmax
from autograd.optional import optional_import
from nn import conv, functional, pooling
from nn.module import Module

__all__ = [
    "CONVERTERS",
    "DEFAULT_OPSET",
    "MIN_OPSET",
    "ExportError",
    "check_opset",
    "export",
]

DEFAULT_OPSET = 28  # the newest that onnx 1.23 writes and onnxruntime 1.32 runs
MIN_OPSET = 18  # from 18 on every Reduce* takes its axes as an input
_NN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep  # frames skipped for the user's line
_INT64_MAX, _INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


class ExportError(ValueError):
    """The model cannot be written as ONNX; the message names the op and the line."""


def export(
    model: Module,
    example_input: Any,
    path: str | os.PathLike,
    *,
    dynamic_batch: bool = True,
    opset: int | None = None,
) -> None:
    """Write `model`'s computation in eval mode on inputs shaped like `example_input`
    (a Tensor or an array) to `path` as an ONNX model: the parameters as
    initializers, one input "input" and one output "output", the first axis named
    "batch" and of any size unless `dynamic_batch=False`. `opset` defaults to
    DEFAULT_OPSET (or the newest the installed onnx writes, if older). The model's
    train/eval mode is restored afterwards; on an error no file is written."""
    onnx = optional_import("onnx", extra="onnx")
    opset = check_opset(opset)
    example = example_input.data if isinstance(example_input, Tensor) else example_input
    example = np.asarray(example)
    if example.dtype.kind != "f":  # the ops would convert it with NumPy, out of the graph
        raise ExportError(
            f"export: the example input is {example.dtype}; give it as the floating "
            "input the model computes on (for images: images.astype(np.float32) / 255)"
        )
    if example.ndim == 0 and dynamic_batch:
        raise ExportError("export: the example input has no axes, so no batch axis")
    x = _input(example)
    calls, out = _record(model, x)
    probe_x = _input(_probe(x.data, dynamic_batch))
    with np.errstate(all="ignore"):  # the probe's values may be outside the model's domain
        probes, _ = _record(model, probe_x)
    _compare(calls, x, out, probes, probe_x)
    params = {id(p): name for name, p in model.named_parameters()}
    graph = _Graph(onnx, x, params, dynamic_batch, probe_x.shape[0])
    for call, probe, needed in zip(calls, probes, _needed(calls, out)):
        if needed:
            graph.convert(call, probe)
    proto = graph.model(out, opset, type(model).__name__)
    onnx.checker.check_model(proto, full_check=True)
    write_atomically(path, lambda file: file.write(proto.SerializeToString()))


def check_opset(opset: Any) -> int:
    """The opset `export` writes when asked for `opset` (None: the newest it can), or
    a TypeError or ValueError saying which it can write."""
    onnx = optional_import("onnx", extra="onnx")
    newest = min(DEFAULT_OPSET, onnx.defs.onnx_opset_version())
    if opset is None:
        opset = newest
    elif isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"export: opset must be an int, got {opset!r}")
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(
            f"export: opset {opset} is not one this exporter writes with onnx {onnx.__version__}: "
            f"choose one from {MIN_OPSET} to {onnx.defs.onnx_opset_version()} "
            f"(None: {newest})"
        )
    return int(opset)


@dataclass
class Call:
    """One recorded Function call: its node (with the options forward set on it),
    arguments, keyword options, output and the user's line that made it."""

    node: Any
    args: tuple
    kwargs: dict
    out: Tensor
    where: traceback.FrameSummary | None

    @property
    def function(self) -> type[Function]:
        return self.node.function

    def at(self) -> str:
        """Where the call was made, for error messages."""
        if self.where is None:
            return "an unknown line"
        line = f": `{self.where.line}`" if self.where.line else ""
        return f"{self.where.filename}:{self.where.lineno}{line}"


class _Recorder(Watcher):
    """Keeps every Function call of one forward (and so every tensor it touched alive,
    which keeps their ids unique while the graph is built)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def recorded(self, node: Any, args: tuple, kwargs: dict, out: Tensor) -> None:
        self.calls.append(Call(node, args, kwargs, out, user_frame(_NN_DIR)))


def _record(model: Module, x: Tensor) -> tuple[list[Call], Tensor]:
    """The calls of one forward of `model` in eval mode on `x` (grad mode on, see
    `_input`), and its output; every module's own train/eval mode is put back
    afterwards, also on an error."""
    modes = [(module, module.training) for _, module in model.named_modules()]
    recorder = _Recorder()
    try:
        model.eval()
        with set_grad_enabled(True), watching(recorder):
            out = model(x)
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)
    if not isinstance(out, Tensor):
        raise ExportError(f"export: the model returned a {type(out).__name__}, not one Tensor")
    return recorder.calls, out


def _input(array: np.ndarray) -> Tensor:
    """The input to record with: it requires grad, so that every value
    computed from it does too, and every conversion of one (to the dtype of a
    parameter, say) is an op of the graph, not a NumPy conversion out of sight."""
    return Tensor(array, requires_grad=True)


def _probe(x: np.ndarray, dynamic_batch: bool) -> np.ndarray:
    """An input unlike the example: one more row when the batch is dynamic, and the
    example's elements (so the same range of values) in another order, or values
    drawn from [0, 1) where that changes nothing (an example of zeros)."""
    if dynamic_batch:
        x = np.concatenate([x, x[:1]])
    rng = np.random.default_rng(0)
    probe = rng.permutation(x.reshape(-1)).reshape(x.shape)
    if np.array_equal(probe, x[: len(probe)], equal_nan=True):  # all alike, as zeros
        probe = rng.random(x.shape).astype(x.dtype)
    return probe


class _Unsupported(Exception):
    """Raised by a converter for a call it cannot write; the message says why."""


def _needed(calls: list[Call], out: Tensor) -> list[bool]:
    """For each call, whether the output depends on it (the others are left out)."""
    wanted, needed = {id(out)}, []
    for call in reversed(calls):
        needed.append(id(call.out) in wanted)
        if needed[-1]:
            wanted.update(id(a) for a in call.args if isinstance(a, Tensor))
    return needed[::-1]


def _compare(
    calls: list[Call], x: Tensor, out: Tensor, probes: list[Call], probe_x: Tensor
) -> None:
    """Raise ExportError where the recording on the probe differs from the example's
    other than in the batch (see the module docstring)."""
    made = {id(x)} | {id(c.out) for c in calls}
    probe_made = {id(probe_x)} | {id(c.out) for c in probes}
    for call, probe, needed in zip(calls, probes, _needed(calls, out)):
        if call.function is not probe.function:
            raise ExportError(
                f"export: the forward takes another path on another input: "
                f"{_describe(call)} became {probe.function.__name__}; ONNX records one path"
            )
        if not needed:
            continue
        shaped = _BATCH_SHAPED.get(call.function)
        for i, (a, b) in enumerate(zip(call.args, probe.args)):
            values = (
                isinstance(a, Tensor) and id(a) in made,
                isinstance(b, Tensor) and id(b) in probe_made,
            )
            if values == (True, True) or i == shaped:
                continue  # values of the graph; or a shape, whose converter follows the batch
            if values != (False, False) or not _same(a, b):
                raise ExportError(
                    f"export: argument {i} of {_describe(call)} differs on another input: "
                    "it is computed from the input outside the graph (a comparison such as "
                    "x > 0, x.data, a shape or a conversion made with NumPy), so ONNX would "
                    "keep the example's value; compute it with autograd ops"
                )
        if not _same(call.kwargs, probe.kwargs):
            raise ExportError(
                f"export: the options of {_describe(call)} differ on an input of another "
                "batch size; ONNX keeps the example's"
            )
    if len(calls) != len(probes):
        longer = calls if len(calls) > len(probes) else probes
        extra = longer[min(len(calls), len(probes))]
        raise ExportError(
            f"export: the forward made {len(calls)} calls on the example and {len(probes)} "
            f"on an input of another batch size or other values, the first extra being "
            f"{_describe(extra)}; ONNX records one path"
        )


class _Graph:
    """The ONNX graph being built: nodes, initializers and the name of every value."""

    def __init__(
        self, onnx: Any, x: Tensor, params: dict[int, str], dynamic_batch: bool, probe_batch: int
    ):
        self.onnx, self.x, self.params, self.dynamic = onnx, x, params, dynamic_batch
        self.batch_sizes = (x.shape[0], probe_batch)  # of the example and of the probe
        self._batch: str | None = None
        self.names: dict[int, str] = {id(x): "input"}
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.call: Call | None = None  # the call being converted
        self.probe: Call | None = None  # the same call in the probe's recording

    def convert(self, call: Call, probe: Call) -> None:
        """Write `call` (recorded as `probe` on the probe) as ONNX nodes."""
        self.call, self.probe = call, probe
        converter = CONVERTERS.get(call.function)
        if converter is None:
            raise ExportError(
                f"export: {_describe(call)} has no ONNX form; the operations "
                "nn.onnx can write are the keys of nn.onnx.CONVERTERS"
            )
        try:
            self.names[id(call.out)] = converter(self, call)
        except _Unsupported as error:
            raise ExportError(f"export: {_describe(call)} {error}") from None

    def model(self, out: Tensor, opset: int, name: str) -> Any:
        """The ONNX model whose output is `out`, once every call it needs is converted."""
        onnx = self.onnx
        result = self.value(out)
        if not self.nodes or self.nodes[-1].output[0] != result:
            result = self.add("Identity", [result])  # the output is the input, or made earlier
        self.nodes[-1].output[0] = "output"
        batch = "batch" if self.dynamic else self.x.shape[0]
        graph = onnx.helper.make_graph(
            self.nodes,
            name,
            [self._value_info("input", self.x.dtype, (batch, *self.x.shape[1:]))],
            [self._value_info("output", out.dtype, None)],
            list(self.initializers.values()),
        )
        opsets = [onnx.helper.make_opsetid("", opset)]
        proto = onnx.helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="autograd-numpy nn.onnx",
            ir_version=onnx.helper.find_min_ir_version_for(opsets),
        )
        # the output's shape, as ONNX infers it: symbolic "batch" where it follows the input
        inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
        proto.graph.output[0].CopyFrom(inferred.graph.output[0])
        return proto

    def _value_info(self, name: str, dtype: np.dtype, dims: Sequence[Any] | None) -> Any:
        return self.onnx.helper.make_tensor_value_info(name, _onnx_type(self.onnx, dtype), dims)

    def value(self, a: Any) -> str:
        """The name of an argument's value: a value of the graph, a parameter, or a
        constant made an initializer."""
        if isinstance(a, Tensor) and id(a) in self.names:
            return self.names[id(a)]
        if isinstance(a, Tensor) and id(a) in self.params:
            name = self.params[id(a)]
            self.initializers[name] = self.onnx.numpy_helper.from_array(a.data, name)
            self.names[id(a)] = name
            return name
        name = self.constant(a.data if isinstance(a, Tensor) else np.asarray(a))
        if isinstance(a, Tensor):
            self.names[id(a)] = name
        return name

    def constant(self, array: np.ndarray | Sequence[int]) -> str:
        """A new initializer holding `array` (a list of ints: int64, as shapes and axes are)."""
        array = np.asarray(array, dtype=np.int64 if isinstance(array, list) else None)
        name = f"constant_{len(self.initializers)}"
        self.initializers[name] = self.onnx.numpy_helper.from_array(array, name)
        return name

    def input(self, i: int) -> str:
        """The name of the current call's argument i."""
        return self.value(self.call.args[i])

    def add(self, op: str, inputs: Sequence[str], **attributes: Any) -> str:
        """Append one ONNX node of the current call; returns the name of its output."""
        call = self.call
        name = f"{call.function.__name__}_{len(self.nodes)}" if call else f"{op}_{len(self.nodes)}"
        node = self.onnx.helper.make_node(op, list(inputs), [name], name=name, **attributes)
        if call is not None and call.where is not None:  # the file's name only: no user's path
            node.doc_string = f"{os.path.basename(call.where.filename)}:{call.where.lineno}"
        self.nodes.append(node)
        return name

    def axes(self, axes: Sequence[int]) -> str:
        return self.constant(list(axes))

    def batch(self) -> str:
        """The batch size of the input the file is run on, as a 1-element int64 value."""
        if self._batch is None:
            self._batch = self.add("Shape", ["input"], start=0, end=1)
        return self._batch


def _onnx_type(onnx: Any, dtype: np.dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _describe(call: Call) -> str:
    return f"{call.function.__name__} (created at {call.at()})"


def _same(a: Any, b: Any) -> bool:
    """Whether two recorded arguments or options are the same value."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and _same(a.data, b.data)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return (
            a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _shape(g: _Graph, copy: int) -> str:
    """The current call's shape argument (a Reshape's target, a BroadcastTo's shape) as
    a value of the graph, with every entry that followed the batch (it differs on the
    probe) made to follow it in the file: `copy` (Reshape's 0, Expand's 1: the input's
    own size) where it is the input's size on that axis; else the batch size, read
    from the graph's input when it runs, where it is that; else -1 (Reshape infers it),
    for one entry at most."""
    target, probe = (np.atleast_1d(c.args[1]).tolist() for c in (g.call, g.probe))
    x, px = g.call.args[0].shape, g.probe.args[0].shape
    if copy == 1:  # Expand aligns the shapes at their ends, as broadcasting does
        x, px = (None,) * (len(target) - len(x)) + x, (None,) * (len(target) - len(px)) + px
    shape: list[int | None] = list(target)
    inferred = -1 in target
    for i, (t, p) in enumerate(zip(target, probe)):
        if t == p:
            continue
        if i < len(x) and x[i] == t and px[i] == p:
            shape[i] = copy
        elif (t, p) == g.batch_sizes:
            shape[i] = None  # the batch size, read when the file runs
        elif not inferred and copy == 0:
            shape[i], inferred = -1, True
        else:
            raise _Unsupported(
                f"has a shape {tuple(target)} whose entries follow the batch in a way ONNX "
                "cannot be told (keep the batch on the first axis)"
            )
    if None not in shape:
        return g.constant(shape)
    pieces = [g.batch() if n is None else g.constant([n]) for n in shape]
    return g.add("Concat", pieces, axis=0)


# ----- the converters: one per Function, each writing its call as ONNX nodes -----

Converter = Callable[[_Graph, Call], str]


def _elementwise(op: str) -> Converter:
    """The converter of an op that ONNX has under the name `op`, same inputs in order."""

    def convert(g: _Graph, call: Call) -> str:
        return g.add(op, [g.input(i) for i in range(len(call.args))])

    return convert


def _reduce(op: str) -> Converter:
    """sum, mean, max, min over node.axis (None: all), keepdims as recorded."""

    def convert(g: _Graph, call: Call) -> str:
        if call.node.axis is None:
            return g.add(op, [g.input(0)], keepdims=int(call.args[2]))
        return _over(g, op, g.input(0), call.node.axis, keepdims=int(call.args[2]))

    return convert


def _over(g: _Graph, op: str, x: str, axes: Sequence[int], keepdims: int = 1) -> str:
    """The reduction `op` of x over `axes`; no axes reduce nothing, as in NumPy."""
    return g.add(op, [x, g.axes(axes)], keepdims=keepdims, noop_with_empty_axes=1)


def _all_axes(call: Call) -> list[int]:
    axis = call.node.axis
    return list(range(call.args[0].ndim)) if axis is None else list(axis)


def _stable_parts(g: _Graph, axes: list[int]) -> tuple[str, str, str, str]:
    """(m, x - m, exp(x - m), Σ exp(x - m)) with m = max x along `axes`, m and the sum
    kept as size-1 axes: the engine's stable_parts (autograd/ops/softmax.py) in ONNX."""
    x = g.input(0)
    m = _over(g, "ReduceMax", x, axes)
    shifted = g.add("Sub", [x, m])
    e = g.add("Exp", [shifted])
    return m, shifted, e, _over(g, "ReduceSum", e, axes)


def _softmax(g: _Graph, call: Call) -> str:
    axes = _all_axes(call)
    if len(axes) == 1:
        return g.add("Softmax", [g.input(0)], axis=axes[0])
    _, _, e, total = _stable_parts(g, axes)
    return g.add("Div", [e, total])


def _log_softmax(g: _Graph, call: Call) -> str:
    axes = _all_axes(call)
    if len(axes) == 1:
        return g.add("LogSoftmax", [g.input(0)], axis=axes[0])
    _, shifted, _, total = _stable_parts(g, axes)
    return g.add("Sub", [shifted, g.add("Log", [total])])


def _logsumexp(g: _Graph, call: Call) -> str:
    axes = _all_axes(call)
    m, _, _, total = _stable_parts(g, axes)
    z = g.add("Add", [g.add("Log", [total]), m])
    return z if call.args[2] else g.add("Squeeze", [z, g.axes(axes)])


def _linear(g: _Graph, call: Call) -> str:
    x, w, b = call.args
    inputs = [g.input(0), g.input(1)] + ([g.input(2)] if b is not None else [])
    if x.ndim == 2:
        return g.add("Gemm", inputs, transB=1)
    y = g.add("MatMul", [inputs[0], g.add("Transpose", [inputs[1]], perm=[1, 0])])
    return g.add("Add", [y, inputs[2]]) if b is not None else y


def _windows(call: Call) -> dict[str, list[int]]:
    w = call.kwargs["windows"]
    return {
        "kernel_shape": list(w.kernel),
        "strides": list(w.stride),
        "pads": [w.padding[0], w.padding[1], w.padding[0], w.padding[1]],
    }


def _conv2d(g: _Graph, call: Call) -> str:
    inputs = [g.input(0), g.input(1)] + ([g.input(2)] if call.args[2] is not None else [])
    return g.add("Conv", inputs, **_windows(call))


def _max_pool2d(g: _Graph, call: Call) -> str:
    if call.kwargs.get("winner") is not None:
        raise _Unsupported("picks given maxima (a backward's operation)")
    return g.add("MaxPool", [g.input(0)], **_windows(call))  # the padding never wins: -inf


def _avg_pool2d(g: _Graph, call: Call) -> str:
    return g.add("AveragePool", [g.input(0)], count_include_pad=1, **_windows(call))


def _reshape(g: _Graph, call: Call) -> str:
    return g.add("Reshape", [g.input(0), _shape(g, copy=0)])


def _broadcast_to(g: _Graph, call: Call) -> str:
    return g.add("Expand", [g.input(0), _shape(g, copy=1)])


def _transpose(g: _Graph, call: Call) -> str:
    axes = call.node.axes
    perm = list(reversed(range(call.args[0].ndim))) if axes is None else list(axes)
    return g.add("Transpose", [g.input(0)], perm=perm)


def _getitem(g: _Graph, call: Call) -> str:
    """x[index] for ints, slices, None and ...: one Slice, a Gather per int, one Unsqueeze."""
    x, index = call.args
    parts = list(index) if isinstance(index, tuple) else [index]
    for part in parts:
        if not (part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))):
            raise _Unsupported(
                "indexes with an integer array or a mask; ONNX is written for ints, slices, "
                "None and ... only"
            )
        if isinstance(part, (bool, np.bool_)):
            raise _Unsupported("indexes with a bool; ONNX is written for ints and slices only")
    if Ellipsis in parts:
        at = parts.index(Ellipsis)
        taken = sum(p is not None for p in parts) - 1
        parts[at : at + 1] = [slice(None)] * (x.ndim - taken)
    parts += [slice(None)] * (x.ndim - sum(p is not None for p in parts))
    axis_of = [p for p in parts if p is not None]  # one part per axis of x
    starts, ends, axes, steps = [], [], [], []
    for axis, part in enumerate(axis_of):
        if isinstance(part, slice) and part != slice(None):
            step = 1 if part.step is None else int(part.step)
            default_start, default_stop = (0, _INT64_MAX) if step > 0 else (-1, _INT64_MIN)
            starts.append(default_start if part.start is None else int(part.start))
            ends.append(default_stop if part.stop is None else int(part.stop))
            axes.append(axis)
            steps.append(step)
    z = g.input(0)
    if axes:
        z = g.add(
            "Slice", [z, g.constant(starts), g.constant(ends), g.constant(axes), g.constant(steps)]
        )
    for axis in reversed(range(len(axis_of))):  # from the last, so earlier axes stay put
        if not isinstance(axis_of[axis], slice):
            z = g.add("Gather", [z, g.constant(np.int64(axis_of[axis]))], axis=axis)
    kept = [p for p in parts if p is None or isinstance(p, slice)]  # the result's axes
    new = [i for i, p in enumerate(kept) if p is None]
    return g.add("Unsqueeze", [z, g.axes(new)]) if new else z


def _concatenate(g: _Graph, call: Call) -> str:
    return g.add("Concat", [g.input(i) for i in range(len(call.args))], axis=call.node.axis)


def _stack(g: _Graph, call: Call) -> str:
    axis = g.axes([call.node.axis])
    rows = [g.add("Unsqueeze", [g.input(i), axis]) for i in range(len(call.args))]
    return g.add("Concat", rows, axis=call.node.axis)


def _where(g: _Graph, call: Call) -> str:
    return g.add("Where", [g.input(2), g.input(0), g.input(1)])  # Where(x, y, condition)


def _clip(g: _Graph, call: Call) -> str:
    _, low, high = call.args
    z = g.input(0)
    if all(b is None or np.ndim(b) == 0 for b in (low, high)):
        bounds = ["" if b is None else g.value(b) for b in (low, high)]
        return g.add("Clip", [z, *bounds])
    if low is not None:  # bounds of more than one element broadcast: Max and Min do that
        z = g.add("Max", [z, g.value(low)])
    return z if high is None else g.add("Min", [z, g.value(high)])


def _cast(g: _Graph, call: Call) -> str:
    return g.add("Cast", [g.input(0)], to=_onnx_type(g.onnx, call.args[1]))


CONVERTERS: dict[type[Function], Converter] = {
    arithmetic.Add: _elementwise("Add"),
    arithmetic.Sub: _elementwise("Sub"),
    arithmetic.Mul: _elementwise("Mul"),
    arithmetic.Div: _elementwise("Div"),
    arithmetic.Pow: _elementwise("Pow"),
    arithmetic.Neg: _elementwise("Neg"),
    arithmetic.MatMul: _elementwise("MatMul"),
    unary.Exp: _elementwise("Exp"),
    unary.Log: _elementwise("Log"),
    unary.Sqrt: _elementwise("Sqrt"),
    unary.Tanh: _elementwise("Tanh"),
    unary.Sigmoid: _elementwise("Sigmoid"),
    unary.Relu: _elementwise("Relu"),
    unary.Abs: _elementwise("Abs"),
    unary.Clip: _clip,
    unary.Cast: _cast,
    selection.Maximum: _elementwise("Max"),
    selection.Minimum: _elementwise("Min"),
    selection.Where: _where,
    reductions.Sum: _reduce("ReduceSum"),
    reductions.Mean: _reduce("ReduceMean"),
    reductions.Max: _reduce("ReduceMax"),
    reductions.Min: _reduce("ReduceMin"),
    LogSumExp: _logsumexp,
    Softmax: _softmax,
    LogSoftmax: _log_softmax,
    shaping.Reshape: _reshape,
    shaping.BroadcastTo: _broadcast_to,
    shaping.Transpose: _transpose,
    shaping.GetItem: _getitem,
    shaping.Concatenate: _concatenate,
    shaping.Stack: _stack,
    functional.Linear: _linear,
    conv.Conv2d: _conv2d,
    pooling.MaxPool2d: _max_pool2d,
    pooling.AvgPool2d: _avg_pool2d,
}

# the argument holding a shape whose entries may follow the batch (see _shape)
_BATCH_SHAPED = {shaping.Reshape: 1, shaping.BroadcastTo: 1}
