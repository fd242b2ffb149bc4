"""The graph walk: accumulation, retained graphs, ag.grad, higher derivatives, errors."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import autograd as ag


def f64(values, requires_grad: bool = True) -> ag.Tensor:
    return ag.Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----- accumulation within one backward -----
def test_tensor_used_twice_in_one_op_gets_both_gradients():
    x = f64([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_tensor_used_in_several_ops_gets_the_sum_of_their_gradients():
    x = f64([1.0, 2.0])
    (x + x + x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_diamond_graph_sums_gradients_of_both_branches():
    a = f64([0.5, 1.5])
    b = a.exp()  # b = f(a)
    c = a * 3.0  # c = g(a)
    (b * c).sum().backward()  # d = b*c, dd/da = e^a * 3a + e^a * 3
    expected = np.exp(a.data) * 3 * a.data + np.exp(a.data) * 3
    np.testing.assert_allclose(a.grad.data, expected)


def test_intermediate_used_by_two_later_ops_backpropagates_once_with_summed_gradient():
    x = f64([2.0])
    h = x * x  # h is used twice below
    (h * 3.0 + h.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.data, (3 + np.exp(4.0)) * 2 * 2.0)


# ----- accumulation across backward calls -----
def test_grad_accumulates_over_two_backward_calls():
    x = f64([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3.0 + 2 * x.data)


def test_grad_is_a_tensor_of_the_leaf_shape_and_none_before_backward():
    x = f64(np.ones((2, 3)))
    assert x.grad is None
    (x * 2.0).sum().backward()
    assert isinstance(x.grad, ag.Tensor)
    assert x.grad.shape == (2, 3)


def test_backward_of_a_scalar_defaults_to_a_gradient_of_one():
    x = f64(3.0)
    (x * 5.0).backward()
    assert x.grad.item() == 5.0


def test_backward_with_an_explicit_gradient_weights_the_outputs():
    x = f64([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 0.0, -6.0])


def test_leaves_that_do_not_require_grad_get_no_grad():
    x, c = f64([1.0]), f64([2.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None
    assert not c.requires_grad


# ----- retain_graph -----
def test_retain_graph_allows_a_second_backward():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)


def test_second_backward_without_retain_graph_raises_naming_retain_graph():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_second_ag_grad_without_retain_graph_raises_naming_retain_graph():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    ag.grad(y, x)
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        ag.grad(y, x)


# ----- no_grad and detach -----
def test_no_grad_context_records_nothing():
    x = f64([1.0, 2.0])
    with ag.no_grad():
        y = (x * x).exp().sum()
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not y.requires_grad
    assert y.is_leaf


def test_no_grad_decorator_records_nothing():
    x = f64([1.0, 2.0])

    @ag.no_grad()
    def f(t):
        return (t * t).sum()

    y = f(x)
    assert not y.requires_grad
    assert ag.is_grad_enabled()
    assert (x * x).sum().requires_grad  # outside the function recording is back on


def test_no_grad_restores_recording_after_an_exception():
    with pytest.raises(KeyError), ag.no_grad():
        raise KeyError("boom")
    assert ag.is_grad_enabled()


def test_nested_no_grad_blocks_restore_recording_only_at_the_outermost_exit():
    with ag.no_grad():
        with ag.no_grad():
            pass
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


def test_recursive_no_grad_decorated_function_restores_recording_on_return():
    @ag.no_grad()
    def depth(n: int) -> int:
        assert not ag.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    try:
        assert depth(2) == 2
        assert ag.is_grad_enabled()
    finally:
        ag.set_grad_enabled(True).__enter__()  # leave the mode on for the other tests


def test_detach_cuts_the_graph():
    x = f64([1.0, 2.0])
    d = (x * x).detach()
    assert not d.requires_grad
    assert d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, x.data**2)  # d is a constant: d(x²·x)/dx would be 3x²


def test_detach_shares_values_with_the_original():
    x = f64([1.0, 2.0])
    np.testing.assert_array_equal(x.detach().data, x.data)


# ----- integer tensors -----
def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError):
        ag.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError):
        ag.Tensor(np.array([True, False]), requires_grad=True)


def test_integer_tensor_used_with_a_float_tensor_gets_no_grad():
    labels = ag.tensor([1, 2])
    x = f64([0.5, 0.25])
    (x * labels).sum().backward()
    assert labels.grad is None
    np.testing.assert_allclose(x.grad.data, [1.0, 2.0])


# ----- ag.grad -----
def test_ag_grad_returns_gradients_and_leaves_dot_grad_untouched():
    x, w = f64([1.0, 2.0]), f64([3.0, 4.0])
    gx, gw = ag.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_ag_grad_of_a_single_input_returns_a_one_tuple():
    x = f64([1.0, 2.0])
    result = ag.grad((x * x).sum(), x)
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_allclose(result[0].data, 2 * x.data)


def test_ag_grad_gives_zeros_for_an_input_the_output_does_not_depend_on():
    x, unused = f64([1.0, 2.0]), f64([[5.0, 6.0]])
    _, g = ag.grad((x * x).sum(), [x, unused])
    np.testing.assert_array_equal(g.data, np.zeros((1, 2)))


def test_ag_grad_with_respect_to_an_intermediate_tensor():
    x = f64([1.0, 2.0])
    h = x * 3.0
    (gh,) = ag.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_ag_grad_with_grad_outputs_weights_the_outputs():
    x = f64([1.0, 2.0])
    (g,) = ag.grad(x * x, x, grad_outputs=np.array([10.0, -1.0]))
    np.testing.assert_allclose(g.data, [20.0, -4.0])


def test_ag_grad_without_create_graph_gives_a_constant():
    x = f64([1.0, 2.0])
    (g,) = ag.grad((x**3).sum(), x)
    assert not g.requires_grad


def test_second_derivative_of_cube_is_six_x():
    x = f64([0.5, -1.0, 2.0])
    (dy,) = ag.grad((x**3).sum(), x, create_graph=True)
    assert dy.requires_grad
    np.testing.assert_allclose(dy.data, 3 * x.data**2)
    (d2y,) = ag.grad(dy.sum(), x)
    np.testing.assert_allclose(d2y.data, 6 * x.data)


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = f64([0.5, 2.0])
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    (d2,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(d2.data, 6 * x.data)


def test_hessian_vector_product_matches_hand_computed_hessian():
    # f(x) = x0² x1 + sin-free cubic: x0² x1 + x1³ + exp(x0 x1)
    x = f64([0.3, -0.7])
    v = np.array([1.5, -2.0])
    x0, x1 = x[0], x[1]
    f = x0 * x0 * x1 + x1**3 + (x0 * x1).exp()
    (g,) = ag.grad(f, x, create_graph=True)
    (hv,) = ag.grad((g * v).sum(), x)

    a, b = x.data
    e = np.exp(a * b)
    hessian = np.array(
        [
            [2 * b + b * b * e, 2 * a + e + a * b * e],
            [2 * a + e + a * b * e, 6 * b + a * a * e],
        ]
    )
    np.testing.assert_allclose(g.data, [2 * a * b + b * e, a * a + 3 * b * b + a * e])
    np.testing.assert_allclose(hv.data, hessian @ v)


def test_third_derivative_through_exp_and_mul():
    x = f64([0.4])
    (d1,) = ag.grad((x * x.exp()).sum(), x, create_graph=True)
    (d2,) = ag.grad(d1.sum(), x, create_graph=True)
    (d3,) = ag.grad(d2.sum(), x)
    # d^n/dx^n (x e^x) = (x + n) e^x
    np.testing.assert_allclose(d3.data, (0.4 + 3) * np.exp(0.4))


def test_ag_grad_of_an_input_that_does_not_require_grad_raises():
    x, c = f64([1.0]), f64([2.0], requires_grad=False)
    with pytest.raises(ValueError, match="input 1"):
        ag.grad((x * c).sum(), [x, c])


# ----- backward errors -----
def test_backward_of_a_many_element_tensor_without_grad_says_a_gradient_must_be_given():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"(?i)needs a gradient|grad"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match=r"\(2,\)"):
        (x * 2.0).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    x = f64(np.ones((2, 3)))
    with pytest.raises(ValueError) as error:
        (x * 2.0).backward(np.ones((3, 2)))
    assert "(3, 2)" in str(error.value) and "(2, 3)" in str(error.value)


def test_backward_through_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="require"):
        f64([1.0], requires_grad=False).sum().backward()


@pytest.mark.parametrize(
    "op, name",
    [
        (lambda a, b: a + b, "Add"),
        (lambda a, b: a - b, "Sub"),
        (lambda a, b: a * b, "Mul"),
        (lambda a, b: a / b, "Div"),
        (lambda a, b: a**b, "Pow"),
        (ag.maximum, "Maximum"),
        (ag.minimum, "Minimum"),
    ],
)
def test_broadcasting_mismatch_raises_value_error_naming_op_and_both_shapes(op, name):
    a, b = f64(np.ones((2, 3))), f64(np.ones((4,)))
    with pytest.raises(ValueError) as error:
        op(a, b)
    message = str(error.value)
    assert name in message and "(2, 3)" in message and "(4,)" in message


def test_matmul_mismatch_raises_value_error_naming_op_and_both_shapes():
    with pytest.raises(ValueError) as error:
        f64(np.ones((2, 3))) @ f64(np.ones((4, 5)))
    message = str(error.value)
    assert "MatMul" in message and "(2, 3)" in message and "(4, 5)" in message


def test_reshape_to_a_wrong_size_raises_value_error_naming_the_op():
    with pytest.raises(ValueError, match="Reshape"):
        f64(np.ones((2, 3))).reshape(4)


# ----- interplay with NumPy and scalars -----
def test_np_asarray_of_a_tensor_gives_its_values():
    x = f64([[1.0, 2.0]])
    a = np.asarray(x)
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, [[1.0, 2.0]])
    assert np.asarray(x, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "expression",
    [
        lambda t, a: a + t,
        lambda t, a: t + a,
        lambda t, a: a - t,
        lambda t, a: a * t,
        lambda t, a: a / t,
        lambda t, a: a**t,
        lambda t, a: a @ t,
        lambda t, a: t @ a,
        lambda t, a: 2 + t,
        lambda t, a: t + 2,
        lambda t, a: 2.0 - t,
        lambda t, a: 2.0 / t,
        lambda t, a: 2.0**t,
        lambda t, a: np.float64(2.0) * t,
    ],
    ids=[
        "ndarray+T",
        "T+ndarray",
        "ndarray-T",
        "ndarray*T",
        "ndarray/T",
        "ndarray**T",
        "ndarray@T",
        "T@ndarray",
        "int+T",
        "T+int",
        "float-T",
        "float/T",
        "float**T",
        "npfloat*T",
    ],
)
def test_ndarrays_and_scalars_on_either_side_give_a_differentiable_tensor(expression):
    t = f64(np.full((2, 2), 1.5))
    a = np.full((2, 2), 0.5)
    result = expression(t, a)
    assert isinstance(result, ag.Tensor)
    assert result.requires_grad
    result.sum().backward()
    assert t.grad.shape == (2, 2)


@pytest.mark.parametrize(
    "compare, expected",
    [
        (lambda t: t < 2.0, [True, False, False]),
        (lambda t: t <= 2.0, [True, True, False]),
        (lambda t: t > 2.0, [False, False, True]),
        (lambda t: t >= 2.0, [False, True, True]),
        (lambda t: t == 2.0, [False, True, False]),
        (lambda t: t != 2.0, [True, False, True]),
        (lambda t: t < f64([3.0, 2.0, 1.0]), [True, False, False]),
        (lambda t: np.array([3.0, 2.0, 1.0]) > t, [True, False, False]),
    ],
)
def test_comparisons_return_boolean_tensors_without_grad(compare, expected):
    result = compare(f64([1.0, 2.0, 3.0]))
    assert isinstance(result, ag.Tensor)
    assert result.dtype == bool
    assert not result.requires_grad
    np.testing.assert_array_equal(result.data, expected)


def test_tensors_stay_hashable_despite_elementwise_equality():
    x, y = f64([1.0]), f64([1.0])
    assert len({x, y}) == 2
    assert {x: 1}[x] == 1


def test_backward_of_a_one_element_leaf_gives_it_a_gradient_of_one():
    x = f64([[2.0]])
    x.backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0]])


def test_ag_grad_of_several_outputs_sums_their_gradients():
    x = f64([1.0, 2.0])
    (g,) = ag.grad([(x * x).sum(), (x * 3.0).sum()], x)
    np.testing.assert_allclose(g.data, 2 * x.data + 3.0)


def test_a_weight_used_transposed_gets_its_gradient_in_its_own_layout():
    # x @ w.T: w's gradient is computed as (gᵀ x), C-ordered like w, not as a transposed view
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.standard_normal((8, 3)))
    w = ag.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    (x @ w.T).sum().backward()
    assert w.grad.data.flags.c_contiguous
    np.testing.assert_allclose(w.grad.data, np.ones((8, 5)).T @ x.data)


def test_grad_with_respect_to_an_intermediate_leaves_the_graph_below_it_intact():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    (dh,) = ag.grad((h * h).sum(), h)
    h.backward(dh)  # h's own node was neither run nor freed by ag.grad
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(2 * x.data), rtol=1e-6)


def test_grad_leaves_the_gradients_it_did_not_return_uncomputed():
    x, w = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0, 4.0], requires_grad=True)
    (dx,) = ag.grad((x * w).sum(), x)
    np.testing.assert_array_equal(dx.data, w.data)
    assert w.grad is None


def test_grad_results_never_share_memory():
    a, b = ag.tensor([1.0, 2.0], requires_grad=True), ag.tensor([3.0, 4.0], requires_grad=True)
    ones = np.ones(2, np.float32)
    da, db = ag.grad(a + b, [a, b], grad_outputs=ones)
    assert not np.shares_memory(da.data, db.data) and not np.shares_memory(da.data, ones)


def test_a_float64_grad_for_a_float32_root_gives_a_float32_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.backward(ag.Tensor(np.ones(2)))
    assert x.grad.dtype == np.float32


def test_casting_to_an_integer_dtype_records_no_gradient():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    assert not x.astype(np.int64).requires_grad


def test_power_zero_has_gradient_zero_at_zero_without_warnings():
    x = ag.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (dx,) = ag.grad((x**0).sum(), x)
    np.testing.assert_array_equal(dx.data, [0.0, 0.0])


def test_clip_refuses_bounds_that_require_grad():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="maximum"):
        ag.clip(x, ag.tensor([1.5, 1.5], requires_grad=True))


def test_iterating_a_tensor_gives_its_rows_with_their_gradients():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    first, second = x
    (first * 2 + second).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [1, 1]])


def test_iterating_a_0d_tensor_is_an_error():
    with pytest.raises(TypeError, match="0-d"):
        list(ag.tensor(1.0))


def test_an_empty_list_index_selects_nothing():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x[[]].shape == (0, 2)


def test_a_deep_copy_of_a_used_tensor_gets_its_own_gradient():
    w = f64([1.0, 2.0])
    (w * 3).sum().backward()
    w.grad = None
    w2 = copy.deepcopy(w)
    (w2 * 3).sum().backward()
    assert w.grad is None
    np.testing.assert_array_equal(w2.grad.data, [3.0, 3.0])
