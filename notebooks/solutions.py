"""One answer to each exercise of the notebooks, checked in the test suite by the same
checks the notebooks call (notebooks/exercises.py, tests/notebooks/test_exercises.py).
Try the exercises before reading on."""

from __future__ import annotations

import math

import numpy as np

# 00: the scalar warm-up


class Value:
    """The warm-up's scalar with a gradient (notebook 0), as the learner writes it."""

    def __init__(self, data, parents=(), op=""):
        self.data = data
        self.grad = 0.0
        self.parents = parents
        self.op = op
        self._backward = lambda: None

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self):
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            node._backward()


def tanh(v):
    """Exercise 0.1: tanh of a Value; its derivative is 1 - tanh²."""
    out = Value(math.tanh(v.data), (v,), "tanh")

    def _backward():
        v.grad += (1 - out.data**2) * out.grad

    out._backward = _backward
    return out


def topological_order(root):
    """Exercise 0.2: every node `root` depends on, each after its parents, without recursion:
    a stack of (node, whether its parents are done)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents)
    return order


# 01: computation graphs


def several_uses(a, b):
    """Exercise 1.1: f = a·b + b·b + exp(a)·b; a is used twice, b four times."""
    return b + math.exp(a) * b, a + 2 * b + math.exp(a)


def bias_gradient(x):
    """Exercise 1.2: y = Σ (x + b) ⊙ x, b broadcast over the rows: sum over them."""
    return x.sum(axis=0)


# 02: backpropagation by hand


def tanh_layer_gradients(x, y, W1, b1, W2, b2):
    """Exercise 2.1: notebook 2's steps, with tanh' = 1 - tanh² in place of ReLU's mask."""
    n = len(x)
    a = np.tanh(x @ W1.T + b1)
    s = a @ W2.T + b2
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ds = p.copy()
    ds[np.arange(n), y] -= 1
    ds /= n  # (P - Y) / N
    da = ds @ W2
    dz = da * (1 - a**2)
    return {"W1": dz.T @ x, "b1": dz.sum(axis=0), "W2": ds.T @ a, "b2": ds.sum(axis=0)}


def mse_gradient(s, t):
    """Exercise 2.2: L = mean((S - T)²) over all N·C elements."""
    return 2 * (s - t) / s.size


# 03: gradient checking


def broken_mul():
    """Exercise 3.1: gradcheck every candidate with broadcast inputs; MulB fails."""
    import autograd as ag
    from notebooks import exercises

    rng = np.random.default_rng(0)
    for candidate in (exercises.MulA, exercises.MulB, exercises.MulC):
        inputs = [
            ag.Tensor(rng.standard_normal((3, 1)), requires_grad=True),
            ag.Tensor(rng.standard_normal(4), requires_grad=True),
        ]
        try:
            ag.gradcheck(candidate.apply, inputs)
        except ag.GradcheckError:
            return candidate
    return None


BEST_FORWARD_STEP = 1e-8  # Exercise 3.2: about √u, u = 2⁻⁵³


# 04: training


def momentum_step(w, g, m, lr, momentum):
    """Exercise 4.1: PyTorch's SGD with momentum (the first m is g itself, as 0.9·0 + g)."""
    m = momentum * m + g
    return w - lr * m, m


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    """Exercise 4.2: Adam's step t (from 1), with the bias corrections."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


EFFECTIVE_RATE = 0.01 / (1 - 0.9)  # Exercise 4.3


# 05: convolutions


def stride2_input_gradient(g, w, input_shape):
    """Exercise 5.1: dilate g by the stride, pad it by k - 1, correlate with the kernel
    flipped and its O and C axes swapped; rows and columns no window reached stay 0."""
    n, c, h, width = input_shape
    o, _, kh, kw = w.shape
    s = 2
    dilated = np.zeros((n, o, (g.shape[2] - 1) * s + 1, (g.shape[3] - 1) * s + 1))
    dilated[:, :, ::s, ::s] = g
    padded = np.pad(dilated, [(0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)])
    kernel = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, O, kh, kw)
    dx = np.zeros(input_shape)
    for p in range(dilated.shape[2] + kh - 1):
        for q in range(dilated.shape[3] + kw - 1):
            window = padded[:, :, p : p + kh, q : q + kw]
            dx[:, :, p, q] = np.einsum("nouv,couv->nc", window, kernel)
    return dx


def avg_pool_gradient(g):
    """Exercise 5.2: each output spreads its gradient evenly over its 2×2 window."""
    return np.repeat(np.repeat(g, 2, axis=2), 2, axis=3) / 4


# 06: Jacobians and second derivatives


def hessian_by_hand(x):
    """Exercise 6.1: f = Σ xᵢ³ + x₀x₁: diag(6x), plus 1 at (0, 1) and (1, 0)."""
    h = np.diag(6 * x)
    h[0, 1] = h[1, 0] = 1
    return h


def tanh_jvp_by_hand(x, v):
    """Exercise 6.2: tanh acts elementwise, so J = diag(1 - tanh² x) and J v is a product."""
    return (1 - np.tanh(x) ** 2) * v
