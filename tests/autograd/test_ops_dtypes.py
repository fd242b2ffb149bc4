"""dtypes: float32 in, float32 out, for values and gradients of every op; Python
scalars never upcast; mixed operands follow PyTorch's category rule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import autograd as ag

F32 = np.dtype(np.float32)

# Each case takes two float32 leaves x (3, 4) and y (3, 4) with values in [0.5, 2].
MASK = np.array([[True, False, True, False]] * 3)
CASES = {
    # elementwise
    "neg": lambda x, y: -x,
    "exp": lambda x, y: x.exp(),
    "log": lambda x, y: x.log(),
    "sqrt": lambda x, y: x.sqrt(),
    "tanh": lambda x, y: x.tanh(),
    "sigmoid": lambda x, y: x.sigmoid(),
    "relu": lambda x, y: (x - 1.0).relu(),
    "abs": lambda x, y: (x - 1.0).abs(),
    # two tensors
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow_tensor": lambda x, y: x**y,
    "matmul_2d": lambda x, y: x @ y.T,
    "matmul_1d": lambda x, y: x[0] @ y[1],
    "matmul_batched": lambda x, y: x.reshape(3, 4, 1) @ y.reshape(3, 1, 4),
    "maximum": lambda x, y: ag.maximum(x, y),
    "minimum": lambda x, y: ag.minimum(x, y),
    "where": lambda x, y: ag.where(MASK, x, y),
    "concatenate": lambda x, y: ag.concatenate([x, y], axis=1),
    "stack": lambda x, y: ag.stack([x, y], axis=0),
    # a Python scalar on either side
    "mul_float": lambda x, y: x * 2.0,
    "rmul_float": lambda x, y: 2.0 * x,
    "div_int": lambda x, y: x / 3,
    "rdiv_int": lambda x, y: 3 / x,
    "add_int": lambda x, y: x + 1,
    "rsub_int": lambda x, y: 2 - x,
    "sub_float": lambda x, y: x - 0.5,
    "pow_int": lambda x, y: x**2,
    "pow_float": lambda x, y: x**2.5,
    "rpow_float": lambda x, y: 2.0**x,
    "maximum_float": lambda x, y: ag.maximum(x, 1.0),
    "minimum_int": lambda x, y: ag.minimum(1, x),
    "where_scalar_else": lambda x, y: ag.where(MASK, x, 0.0),
    "where_scalar_then": lambda x, y: ag.where(MASK, 1.5, x),
    "clip_floats": lambda x, y: x.clip(0.75, 1.5),
    "clip_ints": lambda x, y: ag.clip(x, 1, 2),
    "clip_min_only": lambda x, y: x.clip(min=1.0),
    "clip_max_only": lambda x, y: x.clip(max=1.0),
    # reductions
    "sum": lambda x, y: x.sum(),
    "sum_axis": lambda x, y: x.sum(axis=0, keepdims=True),
    "mean": lambda x, y: x.mean(),
    "mean_axis": lambda x, y: x.mean(axis=-1),
    "max": lambda x, y: x.max(),
    "max_axis": lambda x, y: x.max(axis=1),
    "min": lambda x, y: x.min(axis=(0, 1)),
    "logsumexp": lambda x, y: x.logsumexp(),
    "logsumexp_axis": lambda x, y: x.logsumexp(axis=1, keepdims=True),
    # shape
    "reshape": lambda x, y: x.reshape(2, 6),
    "transpose": lambda x, y: x.transpose(1, 0),
    "T": lambda x, y: x.T,
    "broadcast_to": lambda x, y: ag.broadcast_to(x, (2, 3, 4)),
    "getitem_basic": lambda x, y: x[1:, None, ::-2],
    "getitem_ints": lambda x, y: x[[0, 0, 2]],
    "getitem_mask": lambda x, y: x[MASK],
}


def float32_leaves() -> tuple[ag.Tensor, ag.Tensor]:
    rng = np.random.default_rng(0)
    x, y = (rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32) for _ in range(2))
    return ag.Tensor(x, requires_grad=True), ag.Tensor(y, requires_grad=True)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_inputs_give_float32_values(name):
    x, y = float32_leaves()
    assert CASES[name](x, y).dtype == F32


@pytest.mark.parametrize("name", list(CASES))
def test_float32_inputs_give_float32_gradients(name):
    x, y = float32_leaves()
    CASES[name](x, y).sum().backward()
    assert x.grad is not None
    assert x.grad.dtype == F32
    assert y.grad is None or y.grad.dtype == F32


@pytest.mark.parametrize("name", list(CASES))
def test_float32_inputs_give_float32_second_derivatives(name):
    x, y = float32_leaves()
    (g,) = ag.grad(CASES[name](x, y).sum(), x, create_graph=True)
    assert g.dtype == F32
    if g.requires_grad:
        (h,) = ag.grad((g * g).sum(), x)
        assert h.dtype == F32


def test_python_scalars_never_upcast_float32():
    x = ag.tensor([1.0, 2.0])
    for result in (x * 2.0, 2.0 * x, x / 3, 3 / x, x + 1, 1 - x, x**2, 2**x, x * True):
        assert result.dtype == F32


def test_float32_gradient_of_float32_root_through_an_explicit_float64_grad_stays_float32():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(np.array([1.0, 1.0]))  # a float64 ndarray gradient
    assert x.grad.dtype == F32


def test_float64_array_operand_upcasts_and_the_float32_leaf_keeps_a_float32_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * np.array([3.0, 4.0])  # float32 with float64 gives float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


# ----- mixed operands: PyTorch's category rule -----
BINARY = {
    "add": lambda a, b: a + b,
    "rsub": lambda a, b: b - a,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "rdiv": lambda a, b: b / a,
    "pow": lambda a, b: a**b,
    "maximum": ag.maximum,
    "minimum": ag.minimum,
    "where": lambda a, b: ag.where(np.array([True, False]), a, b),
    "clip": lambda a, b: ag.clip(a, b, None),
}
JOINS = {  # of tensors and arrays only: a scalar has no axis to join along
    "concatenate": lambda a, b: ag.concatenate([a, b]),
    "stack": lambda a, b: ag.stack([b, a]),
}
INTEGER_OPERANDS = {
    "int64_array": np.array([1, 2]),
    "int32_array": np.array([1, 2], dtype=np.int32),
    "uint8_tensor": ag.Tensor(np.array([1, 2], dtype=np.uint8)),
    "bool_mask": np.array([True, False]),
}
INTEGER_SCALARS = {"int64_scalar": np.int64(2), "python_int": 2}


@pytest.mark.parametrize(
    "op, operand",
    [(op, operand) for op in BINARY for operand in {**INTEGER_OPERANDS, **INTEGER_SCALARS}]
    + [(op, operand) for op in JOINS for operand in INTEGER_OPERANDS],
)
@pytest.mark.filterwarnings("ignore:divide by zero")  # x / False
def test_a_float32_tensor_with_integer_or_bool_operands_stays_float32(op, operand):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = {**BINARY, **JOINS}[op](x, {**INTEGER_OPERANDS, **INTEGER_SCALARS}[operand])
    assert y.dtype == F32
    y.sum().backward()
    assert x.grad.dtype == F32


def test_a_float32_tensor_stays_float32_beside_a_0d_float64_tensor():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    scale = ag.Tensor(np.float64(3.0), requires_grad=True)
    y = x * scale
    assert y.dtype == F32
    y.sum().backward()
    assert x.grad.dtype == F32 and scale.grad.dtype == np.float64
    assert scale.grad.item() == 3.0


def test_integer_true_division_gives_float32():
    assert (ag.tensor([1, 2]) / ag.tensor([2, 4])).dtype == F32
    assert (ag.tensor([1, 2]) / 2).dtype == F32


def test_an_integer_tensor_with_a_python_float_gives_float32():
    assert (ag.tensor([1, 2]) * 2.5).dtype == F32


def test_an_integer_tensor_with_a_python_int_keeps_its_dtype():
    assert (ag.Tensor(np.array([1, 2], dtype=np.int32)) + 2).dtype == np.int32


@pytest.mark.parametrize(
    "fn", [ag.exp, ag.log, ag.sqrt, ag.tanh, ag.sigmoid, ag.mean, ag.logsumexp]
)
def test_real_valued_functions_of_integers_give_float32(fn):
    assert fn(ag.tensor([1, 2])).dtype == F32


DTYPES = [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64]


@pytest.mark.parametrize("left_0d", [False, True])
@pytest.mark.parametrize("right_0d", [False, True])
def test_result_dtypes_match_torch_for_every_pair_of_dtypes(left_0d, right_0d):
    torch = pytest.importorskip("torch")
    from autograd.ops.operands import result_dtype

    for a, b in itertools.product(DTYPES, DTYPES):
        left, right = np.ones(() if left_0d else (2,), a), np.ones(() if right_0d else (2,), b)
        expected = torch.result_type(torch.from_numpy(left), torch.from_numpy(right))
        got = result_dtype(ag.Tensor(left), ag.Tensor(right))
        assert torch.from_numpy(np.ones(1, got)).dtype == expected, (a, left_0d, b, right_0d)
    for a, scalar in itertools.product(DTYPES, [True, 2, 2.5]):
        expected = torch.result_type(torch.from_numpy(np.ones(2, a)), scalar)
        got = result_dtype(ag.Tensor(np.ones(2, a)), scalar)
        assert torch.from_numpy(np.ones(1, got)).dtype == expected, (a, scalar)


def test_float64_leaves_stay_float64():
    x = ag.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * 2.0).exp().sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_astype_converts_values_and_gradients_flow_back_in_the_source_dtype():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


# ----- creating tensors -----
def test_tensor_of_a_list_of_floats_is_float32():
    assert ag.tensor([[1.0, 2.0]]).dtype == F32
    assert ag.tensor(1.5).dtype == F32
    assert ag.Tensor([1.0]).dtype == F32


def test_tensor_of_a_float_array_keeps_its_dtype():
    assert ag.tensor(np.ones(2)).dtype == np.float64
    assert ag.Tensor(np.ones(2, dtype=np.float16)).dtype == np.float16
    assert ag.tensor(np.float64(0.1)).dtype == np.float64


def test_tensor_of_a_list_of_ints_is_an_integer_tensor():
    t = ag.tensor([1, 2, 3])
    assert np.issubdtype(t.dtype, np.integer)
    assert not t.requires_grad


def test_tensor_with_an_explicit_float64_dtype_keeps_full_precision():
    t = ag.tensor([0.1, 1 / 3], dtype=np.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.array([0.1, 1 / 3]))


def test_tensor_copies_its_data():
    a = np.ones(3)
    t = ag.tensor(a)
    a[0] = 5.0
    assert t.data[0] == 1.0
