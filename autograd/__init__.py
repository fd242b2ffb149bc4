"""autograd: reverse-mode automatic differentiation on NumPy arrays.

import autograd as ag
x = ag.tensor([[1.0, 2.0]], requires_grad=True)
y = (x * x).sum()
y.backward()  # x.grad == 2 * x
"""

# isort: off
from autograd.tensor import Tensor, tensor  # first: every other module builds on Tensor

# isort: on
from autograd import functional
from autograd.anomaly import AnomalyError, detect_anomaly
from autograd.draw import draw_graph
from autograd.engine import grad, retain_grads
from autograd.function import Function, Node
from autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from autograd.modes import is_grad_enabled, no_grad, set_grad_enabled
from autograd.ops import (
    abs,
    broadcast_to,
    clip,
    concatenate,
    exp,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    stack,
    sum,
    tanh,
    transpose,
    where,
)
from autograd.trace import BackwardTrace, trace_backward

__all__ = [
    "AnomalyError",
    "BackwardTrace",
    "Node",
    "Function",
    "GradcheckError",
    "Tensor",
    "abs",
    "broadcast_to",
    "clip",
    "concatenate",
    "detect_anomaly",
    "draw_graph",
    "exp",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "no_grad",
    "relu",
    "reshape",
    "retain_grads",
    "set_grad_enabled",
    "sigmoid",
    "softmax",
    "sqrt",
    "stack",
    "sum",
    "tanh",
    "tensor",
    "trace_backward",
    "transpose",
    "where",
]
