"""Layers, activations and losses as functions of tensors.

Convolution, pooling and dropout live in their own files (nn/conv.py,
nn/pooling.py, nn/dropout.py) and are imported here. Losses take `target` as
integer class indices (a Tensor, ndarray or list), one per row of a (batch,
classes) input, and `reduction` "mean" or "sum".
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Function, Node, Tensor
from autograd.ops.operands import as_floating, as_tensors
from autograd.ops.softmax import softmax_vjp, stable_parts
from nn.conv import conv2d
from nn.dropout import dropout
from nn.pooling import avg_pool2d, max_pool2d

__all__ = [
    "avg_pool2d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "linear",
    "log_softmax",
    "max_pool2d",
    "nll_loss",
    "relu",
    "softmax",
]

REDUCTIONS = ("mean", "sum", "none")  # "none": one loss per row, as in PyTorch


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if bias is None:  # one dtype for all, by PyTorch's rule (see autograd.ops.operands)
        x, weight = as_tensors(x, weight)
    else:
        x, weight, bias = as_tensors(x, weight, bias)
    return Linear.apply(x, weight, bias)


class Linear(Function):
    """y = x @ Wᵀ + b in one node (as PyTorch's addmm), for x of shape (..., in).

    Its backward gives W's gradient straight in W's own layout, gᵀ @ x, where
    `x @ W.T + b` through the generic ops would take four nodes.
    """

    formula = "dx = grad @ W, dW = gradᵀ @ x, db = Σ_rows grad"

    @staticmethod
    def forward(node: Node, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        node.save_for_backward(x, w)
        y = x @ w.T
        if b is not None:
            y += b  # in place: y is a fresh array
        return y

    @staticmethod
    def backward(node: Node, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, w = node.saved_tensors
        dx, dw, db = node.needs_input_grad
        rows, inputs = grad, x
        if grad.ndim != 2:  # every leading axis is a batch axis
            rows, inputs = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        # dy/dx = W, dy/dW = x (summed over the batch), dy/db = 1
        return (
            grad @ w if dx else None,
            rows.T @ inputs if dw else None,
            rows.sum(axis=0) if db else None,
        )


def relu(x: Tensor) -> Tensor:
    """max(x, 0) elementwise."""
    return ag.relu(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / Σ exp(x) along `axis`, with the maximum subtracted first (ag.softmax)."""
    return ag.softmax(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log softmax(x) along `axis`, precise in float32 at any magnitude (ag.log_softmax)."""
    return ag.log_softmax(x, axis)


def nll_loss(log_probs: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-log_probs[i, target[i]], averaged or summed over the rows i."""
    _check_reduction("nll_loss", reduction)
    log_probs = _as_batch("nll_loss", log_probs)
    target = _class_indices("nll_loss", target, *log_probs.shape)
    picked = log_probs[np.arange(len(target)), target]
    if reduction == "none":
        return -picked
    with np.errstate(invalid="ignore"):  # the mean of an empty batch is nan, as in PyTorch
        return -(picked.sum() / len(target) if reduction == "mean" else picked.sum())


def cross_entropy(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """nll_loss(log_softmax(logits), target) in one fused operation (see CrossEntropy)."""
    _check_reduction("cross_entropy", reduction)
    logits = _as_batch("cross_entropy", logits)
    target = _class_indices("cross_entropy", target, *logits.shape)
    return CrossEntropy.apply(logits, target=target, reduction=reduction)


class CrossEntropy(Function):
    """loss_i = logsumexp(logits_i) - logits_i[target_i]: their sum, divided by N for
    "mean", or each row's for "none".

    One node instead of the chain log_softmax, indexing, reduction. The forward
    keeps the softmax it computes on the way, so the backward is one node as well.
    """

    formula = "dlogits = grad · (softmax(logits) - one_hot(target)) / n"

    @staticmethod
    def forward(node: Node, logits: np.ndarray, target: np.ndarray, reduction: str) -> np.ndarray:
        m, exp, total = stable_parts(logits, axis=1)  # exp(logits - m) ≤ 1 cannot overflow
        picked = logits[np.arange(len(target)), target] - m[:, 0]
        losses = np.log(total[:, 0]) - picked
        node.save_for_backward(logits, exp / total)
        node.target = target
        node.n = len(target) if reduction == "mean" else 1  # what the summed loss is divided by
        if reduction == "none":
            return losses
        with np.errstate(invalid="ignore"):  # the mean of an empty batch is nan, as in PyTorch
            return losses.sum() / node.n

    @staticmethod
    def backward(node: Node, grad: Tensor) -> Tensor:
        logits, probs = node.saved_tensors
        return CrossEntropyGrad.apply(logits, probs, grad, target=node.target, n=node.n)


class CrossEntropyGrad(Function):
    """CrossEntropy's backward as one node, differentiable again:

    dloss/dlogits = grad · (softmax(logits) - one_hot(target)) / n,

    with n = N for "mean" and 1 otherwise; `grad` is a scalar, or one per row for
    "none"; `probs` is softmax(logits), from the forward.
    """

    formula = "dlogits = softmax_vjp(probs, grad) · g / n, dg = Σ grad · (probs - one_hot) / n"

    @staticmethod
    def forward(
        node: Node,
        logits: np.ndarray,
        probs: np.ndarray,
        grad: np.ndarray,
        target: np.ndarray,
        n: int,
    ) -> np.ndarray:
        node.save_for_backward(logits, grad)
        node.target, node.n = target, n
        dlogits = probs.copy()
        dlogits[np.arange(len(target)), target] -= 1  # probs - one_hot(target)
        dlogits *= np.reshape(grad, (-1, 1)) / n  # a scalar, or a column for "none"
        return dlogits

    @staticmethod
    def backward(node: Node, u: Tensor) -> tuple[Tensor | None, None, Tensor | None]:
        logits, grad = node.saved_tensors
        dlogits, _, dgrad = node.needs_input_grad
        probs = ag.softmax(logits, axis=1)
        per_row = (u * (probs - _one_hot(node.target, probs.data))).sum(axis=1) / node.n
        return (
            softmax_vjp(probs, u, (1,)) * (grad.reshape(-1, 1) / node.n) if dlogits else None,
            None,
            (per_row if grad.ndim else per_row.sum()) if dgrad else None,
        )


def _one_hot(target: np.ndarray, like: np.ndarray) -> np.ndarray:
    """1 at [i, target[i]] and 0 elsewhere, in the shape and dtype of `like`."""
    one_hot = np.zeros_like(like)
    one_hot[np.arange(len(target)), target] = 1
    return one_hot


def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        valid = ", ".join(repr(r) for r in REDUCTIONS)
        raise ValueError(f"{op}: reduction must be one of {valid}; got {reduction!r}")


def _as_batch(op: str, x: Any) -> Tensor:
    """The loss input as a floating Tensor of shape (batch, classes)."""
    x = as_floating(x)  # integer logits: float32, as for log_softmax
    if x.ndim != 2:
        raise ValueError(f"{op}: input must have shape (batch, classes), got {x.shape}")
    return x


def _class_indices(op: str, target: Any, rows: int, classes: int) -> np.ndarray:
    """`target` as a 1-D integer array of `rows` class indices in [0, classes), or an error."""
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    if target.ndim != 1:
        raise ValueError(f"{op}: target must be 1-D (one class per row), got shape {target.shape}")
    if len(target) != rows:
        raise ValueError(f"{op}: target has {len(target)} entries but the batch has {rows} rows")
    if len(target) and (target.min() < 0 or target.max() >= classes):
        i = int(np.flatnonzero((target < 0) | (target >= classes))[0])
        raise IndexError(
            f"{op}: target[{i}] = {target[i]} is not a class index: "
            f"there are {classes} classes, 0 to {classes - 1}"
        )
    return target
