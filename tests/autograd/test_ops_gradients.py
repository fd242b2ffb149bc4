"""Every differentiable op: gradients and second derivatives match finite differences.

Each test draws shapes (and axes, indices, ...) with hypothesis, draws float64
values kept away from kinks, ties and invalid domains, and asserts that both
`ag.gradcheck` and `ag.gradgradcheck` pass. Forward values are compared with
NumPy in test_ops_forward.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
from autograd.ops import reductions

CHECK = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ndim 0..3, each side 1..4: gradcheck costs two forward passes per input element
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
triples = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3)
seeds = st.integers(0, 2**32 - 1)

# The broadcasting pairs named in the spec, checked on every run besides the drawn ones.
NAMED_PAIRS = [
    ((3, 1), (1, 4)),
    ((4,), (2, 3, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((), ()),
    ((1,), (3, 1)),
    ((2, 1, 4), (3, 1)),
]


# ----- values -----
def draw_values(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    """float64 values of `shape` in a domain where the op is smooth.

    any: [-2, 2]; positive: [0.5, 2] (log, sqrt, pow base); nonzero: |x| in
    [0.1, 2] (relu, abs, divisor); distinct: pairwise at least 0.15 apart
    (max, min, maximum, minimum never tie, even under a finite-difference step).
    """
    n = int(np.prod(shape, dtype=int))
    if kind == "any":
        flat = rng.uniform(-2, 2, n)
    elif kind == "positive":
        flat = rng.uniform(0.5, 2, n)
    elif kind == "nonzero":
        flat = rng.uniform(0.1, 2, n) * rng.choice([-1.0, 1.0], n)
    elif kind == "distinct":
        flat = (rng.permutation(n) - n / 2) * 0.2 + rng.uniform(-0.025, 0.025, n)
    else:
        raise ValueError(kind)
    return flat.reshape(shape)


def leaf(rng: np.random.Generator, shape: tuple[int, ...], kind: str = "any") -> ag.Tensor:
    return ag.Tensor(draw_values(rng, shape, kind), requires_grad=True)


def distinct_leaves(rng: np.random.Generator, *shapes: tuple[int, ...]) -> list[ag.Tensor]:
    """Leaves whose elements are all distinct from each other, across all of them."""
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    pool = draw_values(rng, (sum(sizes),), "distinct")
    bounds = np.cumsum([0] + sizes)
    return [
        ag.Tensor(pool[a:b].reshape(s), requires_grad=True)
        for a, b, s in zip(bounds[:-1], bounds[1:], shapes)
    ]


def shape_id(value) -> str:
    """(3, 1) -> "3x1", () -> "0d": readable test ids for shape pairs."""
    if isinstance(value, tuple) and all(isinstance(d, int) for d in value):
        return "x".join(map(str, value)) or "0d"
    return None


def assert_first_and_second_derivatives_match(fn, inputs) -> None:
    assert ag.gradcheck(fn, inputs)
    assert ag.gradgradcheck(fn, inputs)


# ----- elementwise functions of one tensor -----
UNARY = {
    "neg": (lambda x: -x, "any"),
    "exp": (ag.exp, "any"),
    "exp_method": (lambda x: x.exp(), "any"),
    "log": (ag.log, "positive"),
    "sqrt": (ag.sqrt, "positive"),
    "tanh": (ag.tanh, "any"),
    "sigmoid": (ag.sigmoid, "any"),
    "relu": (ag.relu, "nonzero"),
    "abs": (ag.abs, "nonzero"),
    "relu_method": (lambda x: x.relu(), "nonzero"),
    "abs_method": (lambda x: x.abs(), "nonzero"),
}


@pytest.mark.parametrize("name", list(UNARY))
@CHECK
@given(shape=shapes, seed=seeds)
def test_unary_op_derivatives_match_finite_differences(name, shape, seed):
    fn, kind = UNARY[name]
    x = leaf(np.random.default_rng(seed), shape, kind)
    assert_first_and_second_derivatives_match(fn, [x])


# ----- arithmetic with broadcasting -----
BINARY = {
    "add": (lambda x, y: x + y, "any", "any"),
    "sub": (lambda x, y: x - y, "any", "any"),
    "mul": (lambda x, y: x * y, "any", "any"),
    "div": (lambda x, y: x / y, "any", "nonzero"),
    "pow_tensor_exponent": (lambda x, y: x**y, "positive", "any"),
}


@pytest.mark.parametrize("name", list(BINARY))
@CHECK
@given(shapes=pairs, seed=seeds)
def test_binary_op_derivatives_match_finite_differences_under_broadcasting(name, shapes, seed):
    fn, x_kind, y_kind = BINARY[name]
    rng = np.random.default_rng(seed)
    x_shape, y_shape = shapes.input_shapes
    assert_first_and_second_derivatives_match(
        fn, [leaf(rng, x_shape, x_kind), leaf(rng, y_shape, y_kind)]
    )


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("x_shape, y_shape", NAMED_PAIRS, ids=shape_id)
def test_binary_op_derivatives_match_finite_differences_for_named_pairs(name, x_shape, y_shape):
    fn, x_kind, y_kind = BINARY[name]
    rng = np.random.default_rng(0)
    assert_first_and_second_derivatives_match(
        fn, [leaf(rng, x_shape, x_kind), leaf(rng, y_shape, y_kind)]
    )


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@CHECK
@given(shapes=pairs, seed=seeds)
def test_maximum_minimum_derivatives_match_finite_differences_under_broadcasting(
    name, shapes, seed
):
    fn = getattr(ag, name)
    x, y = distinct_leaves(np.random.default_rng(seed), *shapes.input_shapes)
    assert_first_and_second_derivatives_match(fn, [x, y])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("x_shape, y_shape", NAMED_PAIRS, ids=shape_id)
def test_maximum_minimum_derivatives_match_finite_differences_for_named_pairs(
    name, x_shape, y_shape
):
    x, y = distinct_leaves(np.random.default_rng(0), x_shape, y_shape)
    assert_first_and_second_derivatives_match(getattr(ag, name), [x, y])


SCALAR_OPERAND = {
    "add_scalar": (lambda x: x + 1.5, "any"),
    "radd_scalar": (lambda x: 1.5 + x, "any"),
    "sub_scalar": (lambda x: x - 1.5, "any"),
    "rsub_scalar": (lambda x: 2 - x, "any"),
    "mul_scalar": (lambda x: x * 2.5, "any"),
    "rmul_scalar": (lambda x: 3 * x, "any"),
    "div_scalar": (lambda x: x / 3, "any"),
    "rdiv_scalar": (lambda x: 2.0 / x, "nonzero"),
    "pow_2": (lambda x: x**2, "any"),
    "pow_3": (lambda x: x**3, "any"),
    "pow_half": (lambda x: x**0.5, "positive"),
    "pow_minus_1_5": (lambda x: x**-1.5, "positive"),
    "rpow_scalar_base": (lambda x: 2.0**x, "any"),
    "add_ndarray": (lambda x: x + np.linspace(-1, 1, 4), "any"),
    "rmul_ndarray": (lambda x: np.linspace(-1, 1, 4) * x, "any"),
}


@pytest.mark.parametrize("name", list(SCALAR_OPERAND))
@CHECK
@given(shape=shapes, seed=seeds)
def test_op_with_constant_operand_derivatives_match_finite_differences(name, shape, seed):
    fn, kind = SCALAR_OPERAND[name]
    if "ndarray" in name:
        shape = shape[:-1] + (4,)  # broadcasts against the (4,) constant
    assert_first_and_second_derivatives_match(fn, [leaf(np.random.default_rng(seed), shape, kind)])


# ----- where and clip -----
@CHECK
@given(shapes=triples, seed=seeds)
def test_where_derivatives_match_finite_differences_under_broadcasting(shapes, seed):
    rng = np.random.default_rng(seed)
    c_shape, x_shape, y_shape = shapes.input_shapes
    condition = rng.random(c_shape) < 0.5
    x, y = leaf(rng, x_shape), leaf(rng, y_shape)
    assert_first_and_second_derivatives_match(lambda a, b: ag.where(condition, a, b), [x, y])


@CHECK
@given(shape=shapes, seed=seeds, scalar_first=st.booleans())
def test_where_with_a_scalar_branch_derivatives_match_finite_differences(shape, seed, scalar_first):
    rng = np.random.default_rng(seed)
    condition = ag.Tensor(rng.random(shape) < 0.5)
    if scalar_first:
        fn = lambda a: ag.where(condition, 0.5, a)  # noqa: E731
    else:
        fn = lambda a: ag.where(condition, a, 0.5)  # noqa: E731
    assert_first_and_second_derivatives_match(fn, [leaf(rng, shape)])


def away_from_bounds(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in [-2, -0.6] u [-0.4, 0.4] u [0.6, 2]: at least 0.1 from the bounds -0.5, 0.5."""
    n = int(np.prod(shape, dtype=int))
    band = rng.integers(0, 3, n)
    low = np.array([-2.0, -0.4, 0.6])[band]
    high = np.array([-0.6, 0.4, 2.0])[band]
    return rng.uniform(low, high).reshape(shape)


@pytest.mark.parametrize(
    "bounds", [(-0.5, 0.5), (-0.5, None), (None, 0.5)], ids=["both", "min_only", "max_only"]
)
@CHECK
@given(shape=shapes, seed=seeds)
def test_clip_derivatives_match_finite_differences(bounds, shape, seed):
    x = ag.Tensor(away_from_bounds(np.random.default_rng(seed), shape), requires_grad=True)
    low, high = bounds
    assert_first_and_second_derivatives_match(lambda a: ag.clip(a, low, high), [x])
    assert_first_and_second_derivatives_match(lambda a: a.clip(low, high), [x])


@CHECK
@given(shapes=triples, seed=seeds)
def test_clip_with_array_bounds_derivatives_match_finite_differences_under_broadcasting(
    shapes, seed
):
    rng = np.random.default_rng(seed)
    x_shape, low_shape, high_shape = shapes.input_shapes
    x = ag.Tensor(away_from_bounds(rng, x_shape), requires_grad=True)
    low, high = np.full(low_shape, -0.5), np.full(high_shape, 0.5)
    assert_first_and_second_derivatives_match(lambda a: ag.clip(a, low, high), [x])


# ----- matmul -----
@st.composite
def matmul_shapes(draw):
    """1-D, 2-D and batched operands, batch axes broadcast against each other."""
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    x_batch, y_batch = batch.input_shapes
    x_shape = (k,) if draw(st.booleans()) else x_batch + (n, k)
    y_shape = (k,) if draw(st.booleans()) else y_batch + (k, m)
    return x_shape, y_shape


MATMUL_NAMED = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3, 4)),
    ((3,), (2, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((5, 2, 3), (5, 3, 1)),
]


@CHECK
@given(shapes=matmul_shapes(), seed=seeds)
def test_matmul_derivatives_match_finite_differences(shapes, seed):
    rng = np.random.default_rng(seed)
    x, y = (leaf(rng, s) for s in shapes)
    assert_first_and_second_derivatives_match(lambda a, b: a @ b, [x, y])


@pytest.mark.parametrize("x_shape, y_shape", MATMUL_NAMED, ids=shape_id)
def test_matmul_derivatives_match_finite_differences_for_named_shapes(x_shape, y_shape):
    rng = np.random.default_rng(0)
    x, y = leaf(rng, x_shape), leaf(rng, y_shape)
    assert_first_and_second_derivatives_match(ag.matmul, [x, y])


def test_matmul_with_a_constant_operand_on_either_side_differentiates_the_tensor():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 2))
    assert_first_and_second_derivatives_match(lambda a: a @ w, [leaf(rng, (4, 3))])
    assert_first_and_second_derivatives_match(lambda a: w.T @ a, [leaf(rng, (3, 4))])


# ----- reductions -----
REDUCTIONS = {
    "sum": "any",
    "mean": "any",
    "max": "distinct",
    "min": "distinct",
    "logsumexp": "any",
}


@st.composite
def shape_and_axis(draw):
    """A shape and an axis argument: None, an int (maybe negative), or a tuple of axes."""
    shape = draw(shapes)
    ndim = len(shape)
    form = draw(st.sampled_from(["none", "int", "tuple"])) if ndim else "none"
    if form == "none":
        return shape, None
    if form == "int":
        a = draw(st.integers(0, ndim - 1))
        return shape, a - ndim if draw(st.booleans()) else a
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
    return shape, tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@CHECK
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_derivatives_match_finite_differences(name, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    x = leaf(np.random.default_rng(seed), shape, REDUCTIONS[name])
    assert_first_and_second_derivatives_match(
        lambda a: getattr(a, name)(axis=axis, keepdims=keepdims), [x]
    )


def every_axis_argument(ndim: int) -> list:
    """None, each int axis and its negative, and every tuple of axes (in both spellings)."""
    ints = list(range(ndim)) + list(range(-ndim, 0))
    tuples = [c for r in range(1, ndim + 1) for c in itertools.combinations(range(ndim), r)]
    negative = [tuple(a - ndim for a in c) for c in tuples]
    return [None, *ints, *tuples, *negative, (ndim - 1, 0)]


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", every_axis_argument(3), ids=repr)
def test_reduction_derivatives_match_finite_differences_for_every_axis_of_a_3d_tensor(
    name, keepdims, axis
):
    x = leaf(np.random.default_rng(3), (2, 1, 3), REDUCTIONS[name])
    fn = getattr(ag, name)
    assert_first_and_second_derivatives_match(lambda a: fn(a, axis, keepdims), [x])


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_of_a_0d_tensor_has_derivative_one(name, keepdims):
    x = ag.Tensor(np.array(0.7), requires_grad=True)
    assert_first_and_second_derivatives_match(lambda a: getattr(a, name)(keepdims=keepdims), [x])


def test_a_min_is_not_a_max():
    assert not issubclass(reductions.Min, reductions.Max)
    assert not issubclass(reductions.Max, reductions.Min)


@pytest.mark.parametrize("fn", [ag.softmax, ag.log_softmax], ids=lambda fn: fn.__name__)
@CHECK
@given(shape_axis=shape_and_axis(), seed=seeds)
def test_softmax_derivatives_match_finite_differences(fn, shape_axis, seed):
    shape, axis = shape_axis
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: fn(a, axis), [x])


# ----- shape operations -----
@st.composite
def shape_and_reshape(draw):
    """A shape and another with the same number of elements (maybe with a -1)."""
    shape = draw(shapes)
    factors = [f for d in shape for f in _prime_factors(d)]
    factors = draw(st.permutations(factors)) if factors else []
    target: list[int] = []
    for f in factors:
        if target and draw(st.booleans()):
            target[-1] *= f
        else:
            target.append(f)
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@CHECK
@given(shapes=shape_and_reshape(), seed=seeds)
def test_reshape_derivatives_match_finite_differences(shapes, seed):
    shape, target = shapes
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a.reshape(target), [x])
    assert_first_and_second_derivatives_match(lambda a: a.reshape(*target), [x])
    assert_first_and_second_derivatives_match(lambda a: ag.reshape(a, target), [x])


@st.composite
def shape_and_permutation(draw):
    shape = draw(shapes)
    perm = draw(st.permutations(range(len(shape))))
    return shape, tuple(a - len(shape) if draw(st.booleans()) else a for a in perm)


@CHECK
@given(shape_axes=shape_and_permutation(), seed=seeds)
def test_transpose_with_axes_derivatives_match_finite_differences(shape_axes, seed):
    shape, axes = shape_axes
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a.transpose(axes), [x])
    assert_first_and_second_derivatives_match(lambda a: a.transpose(*axes), [x])
    assert_first_and_second_derivatives_match(lambda a: ag.transpose(a, axes), [x])


@CHECK
@given(shape=shapes, seed=seeds)
def test_transpose_without_axes_and_T_derivatives_match_finite_differences(shape, seed):
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a.transpose(), [x])
    assert_first_and_second_derivatives_match(lambda a: a.T, [x])
    assert_first_and_second_derivatives_match(ag.transpose, [x])


@st.composite
def broadcast_source_and_target(draw):
    """A target shape and a shape that broadcasts to it (fewer axes, some of size 1)."""
    target = draw(shapes)
    kept = draw(st.integers(0, len(target)))
    source = tuple(1 if draw(st.booleans()) else d for d in target[len(target) - kept :])
    return source, target


@CHECK
@given(shapes=broadcast_source_and_target(), seed=seeds)
def test_broadcast_to_derivatives_match_finite_differences(shapes, seed):
    source, target = shapes
    x = leaf(np.random.default_rng(seed), source)
    assert_first_and_second_derivatives_match(lambda a: ag.broadcast_to(a, target), [x])


@st.composite
def concatenate_operands(draw):
    """Shapes that agree except along `axis`, and the axis (maybe negative)."""
    base = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = draw(st.integers(-len(base), len(base) - 1))
    lengths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    operands = [base[: axis % len(base)] + (n,) + base[axis % len(base) + 1 :] for n in lengths]
    return operands, axis


@CHECK
@given(operands=concatenate_operands(), seed=seeds)
def test_concatenate_derivatives_match_finite_differences(operands, seed):
    shapes_, axis = operands
    rng = np.random.default_rng(seed)
    xs = [leaf(rng, s) for s in shapes_]
    assert_first_and_second_derivatives_match(lambda *a: ag.concatenate(list(a), axis=axis), xs)


@st.composite
def stack_operands(draw):
    shape = draw(shapes)
    count = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return shape, count, axis


@CHECK
@given(operands=stack_operands(), seed=seeds)
def test_stack_derivatives_match_finite_differences(operands, seed):
    shape, count, axis = operands
    rng = np.random.default_rng(seed)
    xs = [leaf(rng, shape) for _ in range(count)]
    assert_first_and_second_derivatives_match(lambda *a: ag.stack(list(a), axis=axis), xs)


def test_concatenate_and_stack_with_a_constant_operand_differentiate_the_tensors():
    rng = np.random.default_rng(2)
    x, y = leaf(rng, (2, 3)), leaf(rng, (2, 3))
    constant = rng.standard_normal((2, 3))
    assert_first_and_second_derivatives_match(
        lambda a, b: ag.concatenate([a, constant, b], axis=1), [x, y]
    )
    assert_first_and_second_derivatives_match(
        lambda a, b: ag.stack([constant, a, b], axis=-1), [x, y]
    )


# ----- indexing -----
@CHECK
@given(data=st.data(), shape=shapes, seed=seeds)
def test_basic_indexing_derivatives_match_finite_differences(data, shape, seed):
    """ints, slices with steps (negative too), None and Ellipsis."""
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a[index], [x])


@CHECK
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds)
def test_integer_array_indexing_derivatives_match_finite_differences(data, shape, seed):
    """Integer arrays (repeated and negative indices included) in one or more axes."""
    index = data.draw(
        hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
        )
    )
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a[index], [x])


@CHECK
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds, data=st.data())
def test_boolean_mask_indexing_derivatives_match_finite_differences(shape, seed, data):
    """A mask over all axes or over the leading ones, as an ndarray or a Tensor."""
    rng = np.random.default_rng(seed)
    mask_ndim = data.draw(st.integers(1, len(shape)))
    mask = rng.random(shape[:mask_ndim]) < 0.5
    x = leaf(rng, shape)
    assert_first_and_second_derivatives_match(lambda a: a[mask], [x])
    assert_first_and_second_derivatives_match(lambda a: a[ag.Tensor(mask)], [x])


MIXED_INDICES = {
    "repeated_ints": [0, 0, 2, 0],
    "int_array_then_slice": (np.array([2, 0, 2]), slice(None, None, -1)),
    "slice_then_int_array": (slice(1, None), np.array([[0, 3], [3, 3]])),
    "int_then_ellipsis": (1, Ellipsis),
    "none_ellipsis_step": (None, Ellipsis, slice(None, None, 2)),
    "negative_int_and_array": (-1, np.array([-1, 0, -1])),
    "mask_then_slice": (np.array([True, False, True]), slice(0, 3)),
    "tensor_of_ints": ag.Tensor(np.array([1, 1, 0])),
    "tuple_of_repeated_ints_after_a_slice": (slice(None), (0, 0)),
    "list_then_tuple": ([1, 1], (2, 2)),
    "nested_lists": [[0, 2], [2, 2]],
    "tensors_inside_a_tuple": (slice(None), (ag.tensor(3), ag.tensor(3))),
    "list_of_bools": [True, False, True],
    "empty_list_after_a_slice": (slice(None), []),
}


@pytest.mark.parametrize("name", list(MIXED_INDICES))
def test_mixed_indexing_derivatives_match_finite_differences(name):
    index = MIXED_INDICES[name]
    x = leaf(np.random.default_rng(4), (3, 4))
    assert_first_and_second_derivatives_match(lambda a: a[index], [x])


INDEX_FORMS = {
    "list": lambda a: a.tolist(),
    "tuple": lambda a: tuple(a.tolist()) if a.ndim else int(a),
    "ndarray": lambda a: a,
    "tensor": ag.Tensor,
}


@CHECK
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds)
def test_every_form_of_an_integer_index_accumulates_repeated_indices(data, shape, seed):
    """The same integer index as lists, tuples, arrays or Tensors, in any mix (one-axis
    parts only as tuples: a multi-axis tuple inside an index is a nested sequence)."""
    index = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=1)))
    forms = data.draw(st.lists(st.sampled_from(list(INDEX_FORMS)), min_size=len(index)))
    index = tuple(INDEX_FORMS[form](part) for form, part in zip(forms, index))
    x = leaf(np.random.default_rng(seed), shape)
    assert_first_and_second_derivatives_match(lambda a: a[index], [x])


def test_repeated_indices_in_a_tuple_inside_the_index_accumulate():
    x = ag.tensor(np.ones((2, 2)), requires_grad=True)
    x[:, (0, 0)].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0, 0.0], [2.0, 0.0]])


def test_gradient_of_repeated_integer_index_accumulates():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


# ----- compositions: a small model through many ops at once -----
def test_composite_expression_derivatives_match_finite_differences():
    rng = np.random.default_rng(5)
    x, w, b = leaf(rng, (4, 3)), leaf(rng, (3, 5)), leaf(rng, (5,))

    def model(x, w, b):
        h = (x @ w + b).tanh()
        logits = ag.concatenate([h, h.sigmoid() * 2], axis=1)
        return (logits - logits.logsumexp(axis=1, keepdims=True)).mean()

    assert_first_and_second_derivatives_match(model, [x, w, b])
