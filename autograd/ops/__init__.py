"""The built-in operations, each a Function with its forward and its VJP side by side."""

from autograd.ops.arithmetic import add, div, matmul, mul, neg, pow, sub
from autograd.ops.reductions import max, mean, min, sum
from autograd.ops.selection import maximum, minimum, where
from autograd.ops.shape import (
    broadcast_to,
    concatenate,
    getitem,
    reshape,
    stack,
    transpose,
    unbroadcast,
)
from autograd.ops.softmax import log_softmax, logsumexp, softmax
from autograd.ops.unary import abs, astype, clip, exp, log, relu, sigmoid, sqrt, tanh

__all__ = [
    "abs",
    "add",
    "astype",
    "broadcast_to",
    "clip",
    "concatenate",
    "div",
    "exp",
    "getitem",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "unbroadcast",
    "where",
]
