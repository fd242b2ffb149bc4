"""Whole derivatives of functions of tensors, as `torch.autograd.functional`.

    from autograd.functional import jacobian, hessian, vjp, jvp, hvp
    J = jacobian(f, x)           # shape f(x).shape + x.shape
    out, Jv = jvp(f, x, v)       # J @ v without building J

`inputs` is a Tensor or a tuple of Tensors, which need not require grad: each
function works on copies that do (with `create_graph=True`, on new nodes over
the inputs, so the results differentiate back to them). `func` returns a
Tensor or a tuple of Tensors. Results nest as PyTorch's do: a Tensor where
`inputs` and the output are Tensors, a tuple where either is a tuple (even of
one element), and for `jacobian` of a tuple output and tuple inputs a tuple of
tuples, `J[i][j] = d output_i / d input_j`. An output that does not depend on
an input gives zeros. Without `create_graph` every result, the returned
outputs too, is a constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd.engine import grad
from autograd.modes import set_grad_enabled
from autograd.ops import stack
from autograd.ops.shape import Reshape
from autograd.tensor import Tensor

Tensors = Tensor | tuple[Tensor, ...]


def vjp(
    func: Callable[..., Tensors], inputs: Tensors, v: Any = None, create_graph: bool = False
) -> tuple[Tensors, Tensors]:
    """(func(*inputs), vᵀJ): the vector-Jacobian product, one backward pass.

    `v` has the output's shape (a tuple for a tuple output); it may be omitted
    only when the output is a single one-element Tensor.
    """
    with set_grad_enabled(True):
        inputs_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
        xs = _differentiable(xs, create_graph, "vjp")
        outputs_tuple, outs = _as_tuple(func(*xs), "outputs of func", "vjp")
        if v is None:
            _check_one_element(outs, "vjp", "the output of func")
            v = tuple(Tensor(np.ones_like(out.data)) for out in outs)
        vs = _vectors(v, outs, outputs_tuple, "vjp", "output of func")
        result = _grads(outs, xs, vs, create_graph)
    return _result(outs, outputs_tuple, create_graph), _result(result, inputs_tuple, create_graph)


def jvp(
    func: Callable[..., Tensors], inputs: Tensors, v: Any = None, create_graph: bool = False
) -> tuple[Tensors, Tensors]:
    """(func(*inputs), Jv): the Jacobian-vector product, by the double-backward trick.

    The engine runs only in reverse, giving uᵀJ for any u. Recorded with
    `create_graph=True`, that backward pass is a graph of the linear function
    u -> Jᵀu, and one more backward through it, weighted by v, gives
    d(vᵀJᵀu)/du = Jv. So a JVP costs two backward passes instead of one
    forward-mode pass. `v` has the inputs' shapes (a tuple for tuple inputs); it
    may be omitted only for a single one-element input.
    """
    with set_grad_enabled(True):
        inputs_tuple, xs, vs = _inputs_and_tangents(inputs, v, create_graph, "jvp")
        outputs_tuple, outs = _as_tuple(func(*xs), "outputs of func", "jvp")
        us = tuple(Tensor(np.zeros_like(out.data), requires_grad=True) for out in outs)
        transposed = _grads(outs, xs, us, create_graph=True)  # Jᵀu, linear in u
        result = _grads(transposed, us, vs, create_graph)
    return _result(outs, outputs_tuple, create_graph), _result(result, outputs_tuple, create_graph)


def jacobian(
    func: Callable[..., Tensors], inputs: Tensors, create_graph: bool = False
) -> Tensors | tuple[Tensors, ...]:
    """d func(*inputs) / d inputs: of shape output.shape + input.shape per pair.

    One backward pass per output element, each with a one-hot v.
    """
    with set_grad_enabled(True):
        inputs_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
        xs = _differentiable(xs, create_graph, "jacobian")
        outputs_tuple, outs = _as_tuple(func(*xs), "outputs of func", "jacobian")
        blocks = []
        for out in outs:
            rows = []  # rows[k][j]: d out.flat[k] / d xs[j]
            for k in range(out.size):
                one_hot = np.zeros(out.size, dtype=out.dtype)
                one_hot[k] = 1
                rows.append(_grads((out,), xs, (Tensor(one_hot.reshape(out.shape)),), create_graph))
            blocks.append(tuple(_stacked([r[j] for r in rows], out, x) for j, x in enumerate(xs)))
    per_output = [_result(block, inputs_tuple, create_graph) for block in blocks]
    return tuple(per_output) if outputs_tuple else per_output[0]


def hessian(
    func: Callable[..., Tensor], inputs: Tensors, create_graph: bool = False
) -> Tensors | tuple[Tensors, ...]:
    """The second derivatives of a one-element `func`: the Jacobian of its gradient.

    Of shape x.shape + x.shape for one input x; for tuple inputs a tuple of
    tuples, `H[i][j] = d² func / d input_i d input_j`.
    """
    inputs_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        def scalar(*xs: Tensor) -> Tensor:
            out = _single_scalar(func(*xs), "hessian")
            return out.reshape(())

        return jacobian(scalar, xs, create_graph=True)

    h = jacobian(gradient, xs, create_graph=create_graph)
    return h if inputs_tuple else h[0][0]


def hvp(
    func: Callable[..., Tensor], inputs: Tensors, v: Any = None, create_graph: bool = False
) -> tuple[Tensor, Tensors]:
    """(func(*inputs), Hv) for a one-element `func`, without building H.

    The gradient g(x) is recorded (create_graph) and differentiated once more,
    weighted by v: d(g·v)/dx = Hv, since the Hessian is symmetric. `v` has the
    inputs' shapes; it may be omitted only for a single one-element input.
    """
    with set_grad_enabled(True):
        inputs_tuple, xs, vs = _inputs_and_tangents(inputs, v, create_graph, "hvp")
        out = _single_scalar(func(*xs), "hvp")
        gradient = _grads((out,), xs, (None,), create_graph=True)
        result = _grads(gradient, xs, vs, create_graph)
    return _result((out,), False, create_graph), _result(result, inputs_tuple, create_graph)


# ----- helpers -----
def _as_tuple(value: Any, what: str, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(whether `value` was a tuple, `value` as a tuple of Tensors)."""
    is_tuple = isinstance(value, tuple)
    values = value if is_tuple else (value,)
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            where = f"item {i} of the tuple" if is_tuple else "it"
            raise TypeError(
                f"{fn}: the {what} must be a Tensor or a tuple of Tensors; "
                f"{where} is a {type(t).__name__}"
            )
    return is_tuple, values


def _differentiable(xs: tuple[Tensor, ...], create_graph: bool, fn: str) -> tuple[Tensor, ...]:
    """Inputs to differentiate with respect to, one distinct tensor per position.

    A new node over an input that requires grad, when the result must
    differentiate back to it (create_graph); else a leaf copy that requires grad.
    """
    for i, x in enumerate(xs):
        if x.dtype.kind != "f":
            raise TypeError(f"{fn}: input {i} is {x.dtype}; only floating-point inputs have one")
    return tuple(
        Reshape.apply(x, x.shape) if create_graph and x.requires_grad else Tensor(x.data, True)
        for x in xs
    )


def _grads(
    outs: tuple[Tensor, ...], xs: tuple[Tensor, ...], vs: tuple[Any, ...], create_graph: bool
) -> tuple[Tensor, ...]:
    """Σ_i vs[i]ᵀ d outs[i] / d xs, one Tensor per x; zeros where no output depends on x."""
    reached = [(out, v) for out, v in zip(outs, vs) if out.requires_grad]
    if not reached:
        return tuple(Tensor(np.zeros_like(x.data)) for x in xs)
    outs, vs = zip(*reached)
    return grad(list(outs), list(xs), list(vs), retain_graph=True, create_graph=create_graph)


def _stacked(rows: list[Tensor], out: Tensor, x: Tensor) -> Tensor:
    """The rows d out.flat[k] / d x as one Tensor of shape out.shape + x.shape."""
    if not rows:  # an empty output
        return Tensor(np.zeros(out.shape + x.shape, dtype=x.dtype))
    return stack(rows).reshape(out.shape + x.shape)


def _inputs_and_tangents(
    inputs: Any, v: Any, create_graph: bool, fn: str
) -> tuple[bool, tuple[Tensor, ...], tuple[Tensor, ...]]:
    """Whether `inputs` is a tuple, the inputs to differentiate at, and `v` checked
    against their shapes (ones for a single one-element input when it is None)."""
    inputs_tuple, xs = _as_tuple(inputs, "inputs", fn)
    xs = _differentiable(xs, create_graph, fn)
    if v is None:
        _check_one_element(xs, fn, "the input")
        v = tuple(Tensor(np.ones_like(x.data)) for x in xs)
    return inputs_tuple, xs, _vectors(v, xs, inputs_tuple, fn, "input")


def _vectors(
    v: Any, like: tuple[Tensor, ...], is_tuple: bool, fn: str, what: str
) -> tuple[Tensor, ...]:
    """`v` as one Tensor per tensor of `like`, each checked to have its shape."""
    vs = v if isinstance(v, tuple) else (v,)
    if len(vs) != len(like):
        expected = f"a tuple of {len(like)}" if is_tuple else "a single tensor"
        raise ValueError(f"{fn}: v must be {expected}, one per {what}, got {len(vs)}")
    vs = tuple(Tensor(np.asarray(v.data if isinstance(v, Tensor) else v)) for v in vs)
    for i, (v, t) in enumerate(zip(vs, like)):
        if v.shape != t.shape:
            name = f"{what} {i}" if is_tuple else f"the {what}"
            raise ValueError(f"{fn}: v has shape {v.shape} for {name} of shape {t.shape}")
    return vs


def _check_one_element(ts: tuple[Tensor, ...], fn: str, what: str) -> None:
    if len(ts) != 1 or ts[0].size != 1:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ValueError(
            f"{fn}: v may be omitted only when {what} is a single one-element Tensor; "
            f"pass v of shape {shapes}"
        )


def _single_scalar(out: Any, fn: str) -> Tensor:
    """`out`, which must be a single one-element Tensor."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}: func must return a single Tensor, got a {type(out).__name__}")
    if out.size != 1:
        raise ValueError(f"{fn}: func must return a one-element Tensor, got shape {out.shape}")
    return out


def _result(ts: tuple[Tensor, ...], as_tuple: bool, create_graph: bool) -> Tensors:
    """The tensors as returned: detached unless create_graph, a tuple if asked for."""
    ts = ts if create_graph else tuple(t.detach() for t in ts)
    return ts if as_tuple else ts[0]
