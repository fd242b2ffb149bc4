"""autograd.functional: Jacobians, Hessians, VJPs, JVPs and HVPs, nested as PyTorch nests them,
checked against central differences in float64 and against torch.autograd.functional."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import autograd as ag
from autograd.functional import hessian, hvp, jacobian, jvp, vjp

EPS = 1e-6
rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3))
B = rng.standard_normal(3)


def tensors(*arrays: np.ndarray) -> tuple[ag.Tensor, ...]:
    return tuple(ag.Tensor(a.copy()) for a in arrays)


# Functions of one input (3,) or two inputs (2, 3) and (3,), with one output (2,) or two.
def one_in_one_out(x):
    return (x.reshape(1, 3) * x.exp()).sum(axis=0)[:2]


def one_in_two_out(x):
    return x.tanh(), (x * x).sum()


def two_in_one_out(a, b):
    return (a * b).tanh() @ b.exp()


def two_in_two_out(a, b):
    return a * b, (a @ b).sum()


CASES = {  # name -> (func, inputs as passed: a Tensor or a tuple)
    "tensor-in-tensor-out": (one_in_one_out, lambda: tensors(B)[0]),
    "tensor-in-tuple-out": (one_in_two_out, lambda: tensors(B)[0]),
    "tuple-in-tensor-out": (two_in_one_out, lambda: tensors(A, B)),
    "tuple-in-tuple-out": (two_in_two_out, lambda: tensors(A, B)),
}


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def numeric_jacobian(func, inputs: tuple[ag.Tensor, ...], i: int, j: int) -> np.ndarray:
    """d output_i / d input_j by central differences, of shape out.shape + in.shape."""
    xs = [x.data.copy() for x in inputs]
    out_shape = as_tuple(func(*tensors(*xs)))[i].shape
    jac = np.zeros(out_shape + xs[j].shape)
    for k in np.ndindex(xs[j].shape):
        moved = []
        for step in (EPS, -EPS):
            ys = [x.copy() for x in xs]
            ys[j][k] += step
            moved.append(as_tuple(func(*tensors(*ys)))[i].data)
        jac[(...,) + k] = (moved[0] - moved[1]) / (2 * EPS)
    return jac


def structure(value):
    """The nesting of a result: a list per tuple, the shape for a Tensor."""
    return [structure(v) for v in value] if isinstance(value, tuple) else value.shape


def block(jac, func, inputs, i: int, j: int) -> ag.Tensor:
    """d output_i / d input_j from a jacobian nested as PyTorch nests it."""
    if isinstance(func(*as_tuple(inputs)), tuple):
        jac = jac[i]
    return jac[j] if isinstance(inputs, tuple) else jac


NESTING = {  # case -> the structure of jacobian(func, inputs)
    "tensor-in-tensor-out": (2, 3),
    "tensor-in-tuple-out": [(3, 3), (3,)],
    "tuple-in-tensor-out": [(2, 2, 3), (2, 3)],
    "tuple-in-tuple-out": [[(2, 3, 2, 3), (2, 3, 3)], [(2, 3), (3,)]],
}


@pytest.mark.parametrize("case", CASES)
def test_jacobian_nests_and_shapes_as_pytorch_does(case):
    func, make = CASES[case]
    assert structure(jacobian(func, make())) == NESTING[case]


@pytest.mark.parametrize("case", CASES)
def test_jacobian_matches_central_differences(case):
    func, make = CASES[case]
    inputs = make()
    ins = as_tuple(inputs)
    jac = jacobian(func, inputs)
    for i, j in itertools.product(range(len(as_tuple(func(*ins)))), range(len(ins))):
        expected = numeric_jacobian(func, ins, i, j)
        np.testing.assert_allclose(block(jac, func, inputs, i, j).data, expected, atol=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_vjp_is_v_times_the_jacobian(case):
    func, make = CASES[case]
    inputs = make()
    outs = as_tuple(func(*as_tuple(inputs)))
    vs = tuple(ag.Tensor(rng.standard_normal(o.shape)) for o in outs)
    v = vs if isinstance(func(*as_tuple(inputs)), tuple) else vs[0]
    out, result = vjp(func, inputs, v)
    assert isinstance(result, tuple) == isinstance(inputs, tuple)
    for j in range(len(as_tuple(inputs))):
        expected = sum(
            np.tensordot(vs[i].data, numeric_jacobian(func, as_tuple(inputs), i, j), vs[i].ndim)
            for i in range(len(outs))
        )
        np.testing.assert_allclose(as_tuple(result)[j].data, expected, atol=1e-8)
    for given, made in zip(as_tuple(out), outs):
        np.testing.assert_array_equal(given.data, made.data)


@pytest.mark.parametrize("case", CASES)
def test_jvp_is_the_jacobian_times_v(case):
    func, make = CASES[case]
    inputs = make()
    ins = as_tuple(inputs)
    vs = tuple(ag.Tensor(rng.standard_normal(x.shape)) for x in ins)
    out, result = jvp(func, inputs, vs if isinstance(inputs, tuple) else vs[0])
    outs = as_tuple(func(*ins))
    assert isinstance(result, tuple) == isinstance(func(*ins), tuple)
    for i, o in enumerate(outs):
        expected = sum(
            numeric_jacobian(func, ins, i, j).reshape(o.size, -1) @ vs[j].data.ravel()
            for j in range(len(ins))
        ).reshape(o.shape)
        np.testing.assert_allclose(as_tuple(result)[i].data, expected, atol=1e-8)


def quadratic(x):
    return (x * (x @ Q)).sum() + (x * x * x).sum()  # xᵀQx + Σx³


Q = rng.standard_normal((3, 3))


def pair_function(a, b):
    return (a * b).tanh().sum() + (b * b).sum()


def test_hessian_of_one_input_matches_the_formula():
    x = tensors(B)[0]
    h = hessian(quadratic, x)
    assert isinstance(h, ag.Tensor) and h.shape == (3, 3)
    np.testing.assert_allclose(h.data, Q + Q.T + np.diag(6 * B), rtol=1e-12)


def test_hessian_of_tuple_inputs_is_a_tuple_of_tuples_matching_differences():
    inputs = tensors(A, B)
    h = hessian(pair_function, inputs)
    assert [[block.shape for block in row] for row in h] == [
        [(2, 3, 2, 3), (2, 3, 3)],
        [(3, 2, 3), (3, 3)],
    ]

    def gradient(i):  # d pair_function / d input_i, as a function to difference
        def of(*xs):
            xs = tuple(ag.Tensor(x.data, requires_grad=True) for x in xs)
            return ag.grad(pair_function(*xs), xs)[i]

        return of

    for i, j in itertools.product(range(2), range(2)):
        expected = numeric_jacobian(gradient(i), inputs, 0, j)
        np.testing.assert_allclose(h[i][j].data, expected, atol=1e-7)


def test_hvp_is_the_hessian_times_v():
    x = tensors(B)[0]
    v = ag.Tensor(rng.standard_normal(3))
    out, result = hvp(quadratic, x, v)
    np.testing.assert_allclose(result.data, hessian(quadratic, x).data @ v.data, rtol=1e-12)
    assert out.item() == quadratic(x).item()

    inputs = tensors(A, B)
    vs = tuple(ag.Tensor(rng.standard_normal(t.shape)) for t in inputs)
    _, results = hvp(pair_function, inputs, vs)
    h = hessian(pair_function, inputs)
    for i in range(2):
        expected = sum(np.tensordot(h[i][j].data, vs[j].data, vs[j].ndim) for j in range(2))
        np.testing.assert_allclose(results[i].data, expected, atol=1e-12)


def test_a_one_element_tuple_gives_tuples():
    (x,) = tensors(B)
    jac = jacobian(lambda x: (x * 2.0,), (x,))
    assert isinstance(jac, tuple) and isinstance(jac[0], tuple) and jac[0][0].shape == (3, 3)
    assert isinstance(hessian(quadratic, (x,)), tuple)
    assert isinstance(vjp(lambda x: x.sum(), (x,))[1], tuple)


def test_outputs_the_inputs_do_not_reach_give_zeros():
    a, b = tensors(A, B)
    jac = jacobian(lambda a, b: b * 2.0, (a, b))
    np.testing.assert_array_equal(jac[0].data, np.zeros((3, 2, 3)))
    np.testing.assert_array_equal(jacobian(lambda x: ag.Tensor(np.ones(2)), b).data, 0)
    _, (zero, _) = vjp(lambda a, b: b.sum(), (a, b))
    np.testing.assert_array_equal(zero.data, np.zeros((2, 3)))
    _, result = jvp(lambda a, b: b.sum(), (a, b), (ag.Tensor(A), ag.Tensor(B)))
    assert result.item() == pytest.approx(B.sum())
    np.testing.assert_array_equal(hessian(lambda x: x.sum(), b).data, np.zeros((3, 3)))


def test_inputs_that_require_grad_are_neither_changed_nor_given_grads():
    x = ag.Tensor(B.copy(), requires_grad=True)
    jacobian(quadratic, x)
    hessian(quadratic, x)
    assert x.grad is None
    np.testing.assert_array_equal(x.data, B)


def test_the_same_tensor_twice_is_two_inputs():
    (x,) = tensors(B)
    for create_graph in (False, True):
        da, db = jacobian(lambda a, b: a * b.exp(), (x, x), create_graph=create_graph)
        np.testing.assert_allclose(da.data, np.diag(np.exp(B)))
        np.testing.assert_allclose(db.data, np.diag(B * np.exp(B)))


def test_without_create_graph_results_are_constants():
    x = ag.Tensor(B.copy(), requires_grad=True)
    out, result = vjp(lambda x: x.exp().sum(), x)
    assert not out.requires_grad and not result.requires_grad
    assert not jacobian(lambda x: x.exp(), x).requires_grad


def test_with_create_graph_results_differentiate_back_to_the_inputs():
    x = ag.Tensor(B.copy(), requires_grad=True)
    jac = jacobian(lambda x: x**3, x, create_graph=True)  # diag(3x²)
    (d,) = ag.grad(jac.sum(), x)
    np.testing.assert_allclose(d.data, 6 * B)
    _, result = jvp(lambda x: x**3, x, ag.Tensor(np.ones(3)), create_graph=True)  # 3x²
    (d,) = ag.grad(result.sum(), x)
    np.testing.assert_allclose(d.data, 6 * B)
    h = hessian(lambda x: (x**3).sum(), x, create_graph=True)  # diag(6x)
    (d,) = ag.grad(h.sum(), x)
    np.testing.assert_allclose(d.data, np.full(3, 6.0))


def test_v_may_be_omitted_for_one_element_outputs_and_inputs():
    x = ag.Tensor(np.array([2.0]))
    assert vjp(lambda x: (x * x).sum(), tensors(B)[0])[1].shape == (3,)
    assert jvp(lambda x: x * x * 3.0, x)[1].data.tolist() == [12.0]
    assert hvp(lambda x: (x**3).sum(), x)[1].data.tolist() == [12.0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: vjp(lambda x: x * 2.0, tensors(B)[0]), r"pass v of shape \(3,\)"),
        (lambda: jvp(lambda x: x.sum(), tensors(B)[0]), r"pass v of shape \(3,\)"),
        (lambda: hvp(lambda x: x.sum(), tensors(A, B)), r"pass v of shape \(2, 3\), \(3,\)"),
        (
            lambda: vjp(lambda x: x * 2.0, tensors(B)[0], ag.Tensor(np.ones(2))),
            r"v has shape \(2,\) for the output of func of shape \(3,\)",
        ),
        (
            lambda: jvp(two_in_one_out, tensors(A, B), ag.Tensor(B)),
            "v must be a tuple of 2, one per input, got 1",
        ),
        (lambda: hessian(lambda x: x * 2.0, tensors(B)[0]), r"one-element Tensor, got shape"),
        (lambda: hessian(lambda x: (x.sum(),), tensors(B)[0]), "a single Tensor, got a tuple"),
        (lambda: jacobian(lambda x: x, [ag.Tensor(B)]), "inputs must be a Tensor or a tuple"),
        (lambda: jacobian(lambda x: x.data, tensors(B)[0]), "outputs of func must be a Tensor"),
        (lambda: jacobian(lambda x: x, ag.Tensor(np.arange(3))), "input 0 is int64"),
    ],
)
def test_bad_arguments_are_one_clear_error(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_everything_matches_torch_autograd_functional():
    torch = pytest.importorskip("torch")
    tf = torch.autograd.functional

    def to_torch(value):
        if isinstance(value, tuple):
            return tuple(to_torch(v) for v in value)
        return torch.tensor(value.data)

    def same(ours, theirs):
        assert isinstance(ours, tuple) == isinstance(theirs, tuple)
        if isinstance(ours, tuple):
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                same(a, b)
        else:
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)

    # the same functions in torch's operators
    torch_funcs = {
        "tensor-in-tensor-out": lambda x: (x.reshape(1, 3) * x.exp()).sum(0)[:2],
        "tensor-in-tuple-out": lambda x: (x.tanh(), (x * x).sum()),
        "tuple-in-tensor-out": lambda a, b: (a * b).tanh() @ b.exp(),
        "tuple-in-tuple-out": lambda a, b: (a * b, (a @ b).sum()),
    }
    for case, (func, make) in CASES.items():
        inputs = make()
        same(jacobian(func, inputs), tf.jacobian(torch_funcs[case], to_torch(inputs)))
        outs = func(*as_tuple(inputs))
        v_out = tuple(ag.Tensor(rng.standard_normal(o.shape)) for o in as_tuple(outs))
        v_out = v_out if isinstance(outs, tuple) else v_out[0]
        v_in = tuple(ag.Tensor(rng.standard_normal(x.shape)) for x in as_tuple(inputs))
        v_in = v_in if isinstance(inputs, tuple) else v_in[0]
        same(vjp(func, inputs, v_out), tf.vjp(torch_funcs[case], to_torch(inputs), to_torch(v_out)))
        same(jvp(func, inputs, v_in), tf.jvp(torch_funcs[case], to_torch(inputs), to_torch(v_in)))

    q = torch.tensor(Q)
    scalar_functions = [
        (quadratic, lambda x: (x * (x @ q)).sum() + (x * x * x).sum(), tensors(B)[0]),
        (pair_function, lambda a, b: (a * b).tanh().sum() + (b * b).sum(), tensors(A, B)),
    ]
    for func, torch_func, inputs in scalar_functions:
        same(hessian(func, inputs), tf.hessian(torch_func, to_torch(inputs)))
        v = tuple(ag.Tensor(rng.standard_normal(x.shape)) for x in as_tuple(inputs))
        v = v if isinstance(inputs, tuple) else v[0]
        same(hvp(func, inputs, v), tf.hvp(torch_func, to_torch(inputs), to_torch(v)))
