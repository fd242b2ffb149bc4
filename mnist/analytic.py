"""The MNIST model's loss and gradients, derived by hand in plain NumPy.

The model is Linear(D, H) - ReLU - Linear(H, C) with softmax cross-entropy
averaged over a batch of N examples (D = 784, C = 10 for MNIST; any D and C
work). Parameters are in PyTorch layout, named as in
``nn.Sequential(Linear, ReLU, Linear)``: ``W1 = "0.weight"`` (H, D),
``b1 = "0.bias"`` (H,), ``W2 = "2.weight"`` (C, H), ``b2 = "2.bias"`` (C,).

Forward::

    z1     = x @ W1.T + b1             (N, H)
    h      = relu(z1)                  (N, H)
    logits = h @ W2.T + b2             (N, C)
    p      = softmax(logits)           (N, C)
    L      = -mean_n log p[n, y[n]]

Backward is the chain rule applied from L back to each parameter, one line
per step. The key fact is that softmax and cross-entropy together have the
simple derivative dL/dlogits = (p - onehot(y)) / N; everything after that is
the derivative of a matrix product (multiply by the other factor, transposed
as needed), of a bias (sum over the batch) or of ReLU (let the gradient
through where z1 > 0). This is the reference that ``python -m mnist.gradcheck``
compares the autograd engine against.
"""

from __future__ import annotations

import numpy as np


def loss_and_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the model on ``(x, y)`` and its gradient per parameter.

    ``x`` is (N, D) float, ``y`` (N,) integer class labels. The gradients have
    the keys, shapes and dtypes of ``params``.
    """
    W1, b1 = params["0.weight"], params["0.bias"]
    W2, b2 = params["2.weight"], params["2.bias"]
    x = x.astype(W1.dtype, copy=False)

    # Forward.
    z1 = x @ W1.T + b1
    h = np.maximum(z1, 0)
    logits = h @ W2.T + b2
    loss, dlogits = cross_entropy_and_grad(logits, y)

    # Backward, from the loss to the first layer.
    dW2 = dlogits.T @ h  # dL/dW2 = dlogits^T h, since logits = h W2^T + b2
    db2 = dlogits.sum(axis=0)  # dL/db2 = sum over the batch of dlogits
    dh = dlogits @ W2  # dL/dh = dlogits W2
    dz1 = dh * (z1 > 0)  # dL/dz1 = dL/dh * relu'(z1), relu'(z) = 1 if z > 0 else 0
    dW1 = dz1.T @ x  # dL/dW1 = dz1^T x, since z1 = x W1^T + b1
    db1 = dz1.sum(axis=0)  # dL/db1 = sum over the batch of dz1

    grads = {"0.weight": dW1, "0.bias": db1, "2.weight": dW2, "2.bias": db2}
    return loss, grads


def cross_entropy_and_grad(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """L = -mean_n log softmax(logits)[n, y[n]] for (N, C) logits, and dL/dlogits."""
    n = len(logits)
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)  # softmax is shift-invariant
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    onehot = np.zeros_like(log_p)
    onehot[rows, y] = 1
    dlogits = (np.exp(log_p) - onehot) / n  # dL/dlogits = (softmax - onehot) / N
    return float(-log_p[rows, y].mean()), dlogits
