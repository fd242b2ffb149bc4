"""The checks of the notebooks' exercises.

Each notebook ends with exercises: a cell holds a stub that raises NotImplementedError,
which the learner replaces, and then calls the exercise's check from this module. A check
prints "not attempted yet" while the stub is there, raises AssertionError with a hint
when the answer is wrong, and prints "correct" when it is right.
notebooks/solutions.py holds one answer to each, which the test suite runs through these
same checks (tests/notebooks/test_exercises.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import autograd as ag
import nn
import nn.functional as F


def exercise(title: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Make `check` say how the exercise `title` stands (it returns nothing, so that a
    notebook cell shows only that line)."""

    def wrap(check: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(check)
        def run(*answer: Any) -> None:
            try:
                if any(a is None for a in answer):
                    raise NotImplementedError
                check(*answer)
            except NotImplementedError:
                print(f"{title}: not attempted yet")
            else:
                print(f"{title}: correct")

        return run

    return wrap


def _close(actual: Any, expected: Any, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    actual = np.asarray(actual.data if isinstance(actual, ag.Tensor) else actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape}, expected {expected.shape}"
    )
    assert np.allclose(actual, expected, rtol=rtol, atol=atol), (
        f"{what}: largest difference {np.abs(actual - expected).max():.3g}"
    )


# 00: the scalar warm-up


@exercise("Exercise 0.1 (tanh for Value)")
def check_value_tanh(Value: type, tanh: Callable[[Any], Any]) -> None:
    for x0 in (-1.5, 0.0, 0.5, 3.0):
        x = Value(x0)
        y = tanh(x * 2.0)  # the chain rule through Mul, then tanh
        assert isinstance(y, Value), "tanh(v) should return a Value"
        assert math.isclose(y.data, math.tanh(2 * x0)), f"tanh({2 * x0}) is {math.tanh(2 * x0)}"
        y.backward()
        expected = 2 * (1 - math.tanh(2 * x0) ** 2)
        assert math.isclose(x.grad, expected, rel_tol=1e-9, abs_tol=1e-12), (
            f"at x = {x0}: x.grad is {x.grad}, expected 2·(1 - tanh²(2x)) = {expected}"
        )


@exercise("Exercise 0.2 (a topological sort without recursion)")
def check_topological_order(Value: type, topological_order: Callable[[Any], list]) -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    u = a.exp()
    d = c + u
    dd = d * d  # d used twice
    e = dd + b
    order = topological_order(e)
    assert len(order) == len({id(n) for n in order}), "a node appears more than once"
    assert {id(n) for n in order} == {id(n) for n in (a, b, c, u, d, dd, e)}, (
        "the order should hold e and every node that e depends on, and nothing else"
    )
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)], "a node comes before its parent"
    assert order[-1] is e, "the root comes last"
    chain = Value(1.0)
    for _ in range(5000):  # deeper than Python's recursion limit (1000)
        chain = chain * 1.0
    assert len(topological_order(chain)) == 10001, "a chain of 5000 products has 10001 nodes"


# 01: computation graphs


@exercise("Exercise 1.1 (values used several times)")
def check_several_uses(gradients: Callable[[float, float], tuple[float, float]]) -> None:
    for a0, b0 in ((2.0, -3.0), (0.5, 1.5)):
        a = ag.tensor(a0, dtype=np.float64, requires_grad=True)
        b = ag.tensor(b0, dtype=np.float64, requires_grad=True)
        (a * b + b * b + a.exp() * b).backward()
        da, db = gradients(a0, b0)
        _close(da, a.grad, f"df/da at a = {a0}, b = {b0}")
        _close(db, b.grad, f"df/db at a = {a0}, b = {b0}")


@exercise("Exercise 1.2 (the gradient of a broadcast bias)")
def check_bias_gradient(bias_gradient: Callable[[np.ndarray], np.ndarray]) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3))
    xt = ag.Tensor(x)
    b = ag.Tensor(np.zeros(3), requires_grad=True)
    ((xt + b) * xt).sum().backward()
    _close(bias_gradient(x), b.grad, "the gradient of b")


# 02: backpropagation by hand


def _small_mlp(seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 5))
    y = rng.integers(0, 4, 6)
    W1, b1 = rng.standard_normal((3, 5)), rng.standard_normal(3)
    W2, b2 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    return x, y, W1, b1, W2, b2


@exercise("Exercise 2.1 (a tanh hidden layer)")
def check_tanh_layer_gradients(gradients: Callable[..., dict[str, np.ndarray]]) -> None:
    x, y, *params = _small_mlp()
    W1, b1, W2, b2 = (ag.Tensor(p, requires_grad=True) for p in params)
    hidden = (ag.Tensor(x) @ W1.T + b1).tanh()
    F.cross_entropy(hidden @ W2.T + b2, y).backward()
    answer = gradients(x, y, *params)
    for name, param in zip(("W1", "b1", "W2", "b2"), (W1, b1, W2, b2)):
        _close(answer[name], param.grad, f"the gradient of {name}")


@exercise("Exercise 2.2 (the mean squared error)")
def check_mse_gradient(mse_gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    rng = np.random.default_rng(1)
    s, t = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    st = ag.Tensor(s, requires_grad=True)
    ((st - ag.Tensor(t)) ** 2).mean().backward()
    _close(mse_gradient(s, t), st.grad, "dL/dS")


# 03: gradient checking


class MulA(ag.Function):
    """z = x * y, one of three candidates."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _unbroadcast(grad * y, x.shape), _unbroadcast(grad * x, y.shape)


class MulB(ag.Function):
    """z = x * y, one of three candidates."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        # back to each input's shape by keeping one copy of the broadcast axes
        return _first_copy(grad * y, x.shape), _first_copy(grad * x, y.shape)


class MulC(ag.Function):
    """z = x * y, one of three candidates."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _unbroadcast(y * grad, x.shape), _unbroadcast(x * grad, y.shape)


def _axes_added(shape: tuple[int, ...], target: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    lead = len(shape) - len(target)
    kept = tuple(i + lead for i, n in enumerate(target) if n == 1 and shape[i + lead] != 1)
    return kept, lead


def _unbroadcast(g: ag.Tensor, shape: tuple[int, ...]) -> ag.Tensor:
    """Sum g over the axes NumPy broadcast: broadcast in the forward, sum in the backward."""
    kept, lead = _axes_added(g.shape, shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    for axis in kept:
        g = g.sum(axis=axis - lead, keepdims=True)
    return g


def _first_copy(g: ag.Tensor, shape: tuple[int, ...]) -> ag.Tensor:
    """The mistake: one copy of the gradient instead of the sum over the copies."""
    kept, lead = _axes_added(g.shape, shape)
    index = (0,) * lead + tuple(
        slice(0, 1) if i + lead in kept else slice(None) for i in range(len(shape))
    )
    return g[index]


@exercise("Exercise 3.1 (the Mul that forgets to sum)")
def check_broken_mul(broken: type) -> None:
    assert broken in (MulA, MulB, MulC), "answer with one of MulA, MulB, MulC"
    assert broken is MulB, (
        f"{broken.__name__} passes gradcheck with broadcast inputs: try shapes (3, 1) and (4,)"
    )


@exercise("Exercise 3.2 (the best step of the forward difference)")
def check_best_forward_step(step: float) -> None:
    u = 2.0**-53
    assert 1e-9 < step < 1e-7, (
        f"{step:g} is too {'large' if step >= 1e-7 else 'small'}: the rounding error "
        "u/ε and the truncation error ε/2·|f''| are about equal at the best step"
    )
    assert abs(math.log10(step) - math.log10(math.sqrt(u))) < 0.5


# 04: training


@exercise("Exercise 4.1 (a step of SGD with momentum)")
def check_momentum_step(step: Callable[..., tuple[np.ndarray, np.ndarray]]) -> None:
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(5)
    w = ag.Tensor(w0.copy(), requires_grad=True)
    optimizer = nn.optim.SGD([w], lr=0.1, momentum=0.9)
    mine, m = w0.copy(), np.zeros(5)
    for _ in range(3):
        g = rng.standard_normal(5)
        w.grad = ag.Tensor(g.copy())
        optimizer.step()
        mine, m = step(mine, g, m, 0.1, 0.9)
    _close(mine, w.data, "the weights after three steps")


@exercise("Exercise 4.2 (a step of Adam)")
def check_adam_step(step: Callable[..., tuple[np.ndarray, ...]]) -> None:
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(5)
    w = ag.Tensor(w0.copy(), requires_grad=True)
    optimizer = nn.optim.Adam([w], lr=0.01)
    mine, m, v = w0.copy(), np.zeros(5), np.zeros(5)
    for t in range(1, 4):
        g = rng.standard_normal(5)
        w.grad = ag.Tensor(g.copy())
        optimizer.step()
        mine, m, v = step(mine, g, m, v, t, 0.01, 0.9, 0.999, 1e-8)
    _close(mine, w.data, "the weights after three steps")


@exercise("Exercise 4.3 (momentum's effective learning rate)")
def check_effective_rate(rate: float) -> None:
    assert math.isclose(rate, 0.1, rel_tol=1e-6), (
        "with the same gradient g at every step, m grows to g / (1 - 0.9)"
    )


# 05: convolutions


@exercise("Exercise 5.1 (the input's gradient with a stride of 2)")
def check_stride2_input_gradient(gradient: Callable[..., np.ndarray]) -> None:
    rng = np.random.default_rng(4)
    x = ag.Tensor(rng.standard_normal((2, 3, 7, 8)), requires_grad=True)
    w = rng.standard_normal((4, 3, 3, 3))
    out = F.conv2d(x, ag.Tensor(w), stride=2)
    g = rng.standard_normal(out.shape)
    out.backward(ag.Tensor(g))
    _close(gradient(g, w, x.shape), x.grad, "dL/dx")


@exercise("Exercise 5.2 (average pooling's VJP)")
def check_avg_pool_gradient(gradient: Callable[[np.ndarray], np.ndarray]) -> None:
    rng = np.random.default_rng(5)
    x = ag.Tensor(rng.standard_normal((2, 3, 6, 4)), requires_grad=True)
    out = F.avg_pool2d(x, 2)
    g = rng.standard_normal(out.shape)
    out.backward(ag.Tensor(g))
    _close(gradient(g), x.grad, "dL/dx")


# 06: Jacobians and second derivatives


@exercise("Exercise 6.1 (a Hessian by hand)")
def check_hessian(hessian_by_hand: Callable[[np.ndarray], np.ndarray]) -> None:
    from autograd.functional import hessian

    x = np.array([0.5, -1.0, 2.0])
    expected = hessian(lambda t: (t**3).sum() + t[0] * t[1], ag.Tensor(x))
    _close(hessian_by_hand(x), expected, "the Hessian")


@exercise("Exercise 6.2 (J v for tanh without J)")
def check_tanh_jvp(jvp_by_hand: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    from autograd.functional import jvp

    rng = np.random.default_rng(6)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    _, expected = jvp(ag.tanh, ag.Tensor(x), ag.Tensor(v))
    _close(jvp_by_hand(x, v), expected, "J v")
