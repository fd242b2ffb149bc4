"""The MNIST models' losses and gradients, derived by hand in plain NumPy.

This is the reference that ``python -m mnist.gradcheck`` compares the autograd
engine against: ``loss_and_grads`` for the MLP, ``cnn_loss_and_grads`` for the CNN.
It shares no code with the engine, nn.conv or nn.pooling.

The MLP
-------

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
through where z1 > 0).

The CNN
-------

The model is mnist.model.cnn in eval mode (dropout is then the identity), with
softmax cross-entropy averaged over a batch of N images x (N, 1, 28, 28).
Parameters are in PyTorch layout, named as in its nn.Sequential:
``W1 = "0.weight"`` (32, 1, 3, 3), ``b1 = "0.bias"``, ``W2 = "3.weight"``
(64, 32, 3, 3), ``b2 = "3.bias"``, ``W3 = "8.weight"`` (128, 1600), ``b3 = "8.bias"``,
``W4 = "11.weight"`` (10, 128), ``b4 = "11.bias"``.

Forward, where ``x ⋆ W`` is the valid cross-correlation that conv2d computes,
``(x ⋆ W)[n, o, i, j] = Σ_{c,u,v} x[n, c, i + u, j + v] · W[o, c, u, v]``::

    z1 = x ⋆ W1 + b1               (N, 32, 26, 26)
    h1 = relu(z1)
    p1 = maxpool(h1)               (N, 32, 13, 13)   max of each 2×2 block
    z2 = p1 ⋆ W2 + b2              (N, 64, 11, 11)
    h2 = relu(z2)
    p2 = maxpool(h2)               (N, 64, 5, 5)     row and column 10 are dropped
    z3 = flat(p2) @ W3.T + b3      (N, 128)
    h3 = relu(z3)
    logits = h3 @ W4.T + b4        (N, 10)
    L = -mean_n log softmax(logits)[n, y[n]]

Backward, from L to the first layer. Besides the MLP's rules (above),
three facts carry it:

- a correlation is linear in each factor, so its weight's gradient is the
  correlation of its input with the output's gradient,
  ``dW[o, c, u, v] = Σ_{n,i,j} dz[n, o, i, j] · x[n, c, i + u, j + v]``;
- its input's gradient gathers, for every input pixel, the outputs it touched:
  ``dx[n, c, p, q] = Σ_{o,u,v} dz[n, o, p - u, q - v] · W[o, c, u, v]``, the full
  correlation of dz (padded by k - 1 zeros) with the kernel flipped in both axes;
- a maximum passes its gradient to the element that attained it (the first of a
  tie, as PyTorch and the engine choose) and nothing to the others.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def loss_and_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the MLP on ``(x, y)`` and its gradient per parameter.

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


def cnn_loss_and_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the CNN (eval mode) on ``(x, y)`` and its gradient per
    parameter. ``x`` is (N, 1, 28, 28) float, ``y`` (N,) integer labels; the gradients
    have the keys, shapes and dtypes of ``params``."""
    W1, b1 = params["0.weight"], params["0.bias"]
    W2, b2 = params["3.weight"], params["3.bias"]
    W3, b3 = params["8.weight"], params["8.bias"]
    W4, b4 = params["11.weight"], params["11.bias"]
    x = x.astype(W1.dtype, copy=False)
    n = len(x)

    # Forward.
    z1 = correlate(x, W1) + b1[:, None, None]
    h1 = np.maximum(z1, 0)
    p1, first = max_pool(h1)
    z2 = correlate(p1, W2) + b2[:, None, None]
    h2 = np.maximum(z2, 0)
    p2, second = max_pool(h2)
    f = p2.reshape(n, -1)
    z3 = f @ W3.T + b3
    h3 = np.maximum(z3, 0)
    logits = h3 @ W4.T + b4
    loss, dlogits = cross_entropy_and_grad(logits, y)  # as for the MLP

    # Backward, from the loss to the first layer.
    dW4 = dlogits.T @ h3  # dL/dW4 = dlogitsᵀ h3, since logits = h3 W4ᵀ + b4
    db4 = dlogits.sum(axis=0)  # dL/db4 = Σ_n dlogits
    dz3 = (dlogits @ W4) * (z3 > 0)  # dL/dh3 = dlogits W4, then relu'(z3)
    dW3 = dz3.T @ f  # dL/dW3 = dz3ᵀ f, since z3 = f W3ᵀ + b3
    db3 = dz3.sum(axis=0)
    dp2 = (dz3 @ W3).reshape(p2.shape)  # dL/df = dz3 W3, unflattened
    dh2 = max_pool_grad(dp2, second, h2.shape)  # to each block's maximum, 0 elsewhere
    dz2 = dh2 * (z2 > 0)  # relu'(z) = 1 if z > 0 else 0
    dW2 = weight_grad(p1, dz2)  # the correlation of p1 with dz2
    db2 = dz2.sum(axis=(0, 2, 3))  # b2[o] is added to every z2[n, o, i, j]
    dp1 = input_grad(dz2, W2)  # the full correlation of dz2 with the flipped W2
    dh1 = max_pool_grad(dp1, first, h1.shape)
    dz1 = dh1 * (z1 > 0)
    dW1 = weight_grad(x, dz1)  # the correlation of x with dz1
    db1 = dz1.sum(axis=(0, 2, 3))

    grads = {
        "0.weight": dW1,
        "0.bias": db1,
        "3.weight": dW2,
        "3.bias": db2,
        "8.weight": dW3,
        "8.bias": db3,
        "11.weight": dW4,
        "11.bias": db4,
    }
    return loss, grads


def windows(a: np.ndarray, k: int) -> np.ndarray:
    """Every k×k window of a (N, C, H, W) array: (N, C, H - k + 1, W - k + 1, k, k), a view."""
    return sliding_window_view(a, (k, k), axis=(2, 3))


def correlate(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(x ⋆ w)[n, o, i, j] = Σ_{c,u,v} x[n, c, i + u, j + v] · w[o, c, u, v]."""
    return np.einsum("ncijuv,ocuv->noij", windows(x, w.shape[-1]), w, optimize=True)


def weight_grad(x: np.ndarray, dz: np.ndarray) -> np.ndarray:
    """dL/dw of z = x ⋆ w: Σ_{n,i,j} dz[n, o, i, j] · x[n, c, i + u, j + v]."""
    k = x.shape[-1] - dz.shape[-1] + 1
    return np.einsum("ncijuv,noij->ocuv", windows(x, k), dz, optimize=True)


def input_grad(dz: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dL/dx of z = x ⋆ w: Σ_{o,u,v} dz[n, o, p - u, q - v] · w[o, c, u, v], written as the
    valid correlation of dz padded by k - 1 zeros with w flipped in both spatial axes."""
    k = w.shape[-1]
    padded = np.pad(dz, [(0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)])
    flipped = w[:, :, ::-1, ::-1]
    return np.einsum("noijuv,ocuv->ncij", windows(padded, k), flipped, optimize=True)


def blocks(h: np.ndarray) -> np.ndarray:
    """The 2×2 blocks of a (N, C, H, W) array as (N, C, H // 2, W // 2, 4), row by row
    within a block; an odd last row or column belongs to no block."""
    n, c, ho, wo = h.shape[0], h.shape[1], h.shape[2] // 2, h.shape[3] // 2
    six = h[:, :, : 2 * ho, : 2 * wo].reshape(n, c, ho, 2, wo, 2)
    return six.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, 4)


def max_pool(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of every 2×2 block, and where in the block it is (the first of a tie)."""
    b = blocks(h)
    where = b.argmax(axis=-1)
    return np.take_along_axis(b, where[..., None], axis=-1)[..., 0], where


def max_pool_grad(dp: np.ndarray, where: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """dL/dh of p = max_pool(h): dp at each block's maximum, 0 elsewhere (and 0 in a
    dropped row or column), since d max(h_1..h_4)/dh_k = 1 for the maximum k only."""
    routed = (where[..., None] == np.arange(4)) * dp[..., None]  # (N, C, Ho, Wo, 4)
    n, c, ho, wo = dp.shape
    dh = np.zeros(shape, dtype=dp.dtype)
    dh[:, :, : 2 * ho, : 2 * wo] = (
        routed.reshape(n, c, ho, wo, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * ho, 2 * wo)
    )
    return dh
