import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
import nn.functional as F

TARGET = np.array([2, 0, 3, 3, 1])


def logits(seed: int = 0, dtype=np.float64, scale: float = 1.0) -> ag.Tensor:
    data = scale * np.random.default_rng(seed).standard_normal((5, 4))
    return ag.Tensor(data.astype(dtype), requires_grad=True)


def reference_log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def test_softmax_rows_are_probabilities_and_match_numpy():
    x = logits()

    p = F.softmax(x)

    np.testing.assert_allclose(p.data.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p.data, np.exp(reference_log_softmax(x.data)), rtol=1e-12)


def test_softmax_and_log_softmax_along_axis_0():
    x = logits()

    np.testing.assert_allclose(F.softmax(x, axis=0).data.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        F.log_softmax(x, axis=0).data, reference_log_softmax(x.data.T).T, rtol=1e-12
    )


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.relu])
def test_activations_pass_gradcheck_and_gradgradcheck(fn):
    assert ag.gradcheck(fn, [logits()])
    assert ag.gradgradcheck(fn, [logits()])


def test_softmax_of_huge_logits_is_finite():
    x = ag.Tensor(np.array([[1e4, -1e4, 0.0]], dtype=np.float32))

    np.testing.assert_array_equal(F.softmax(x).data, [[1, 0, 0]])
    assert np.isfinite(F.log_softmax(x).data).all()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_is_nll_of_log_softmax(reduction):
    x = logits()
    per_row = -reference_log_softmax(x.data)[np.arange(5), TARGET]
    expected = per_row.mean() if reduction == "mean" else per_row.sum()

    ce = F.cross_entropy(x, TARGET, reduction=reduction)
    nll = F.nll_loss(F.log_softmax(x), TARGET, reduction=reduction)

    assert ce.shape == () and nll.shape == ()
    assert ce.item() == pytest.approx(expected, rel=1e-12)
    assert nll.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_losses_pass_gradcheck_and_gradgradcheck(loss, reduction):
    def fn(x):
        return loss(x, TARGET, reduction=reduction)

    assert ag.gradcheck(fn, [logits()])
    assert ag.gradgradcheck(fn, [logits()])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    x = logits()

    F.cross_entropy(x, TARGET).backward()

    one_hot = np.eye(4)[TARGET]
    np.testing.assert_allclose(x.grad.data, (F.softmax(x).data - one_hot) / 5, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradient_is_differentiable_in_the_incoming_gradient(reduction):
    def first_derivative(x, v):
        (g,) = ag.grad(F.cross_entropy(x, TARGET, reduction), x, grad_outputs=v, create_graph=True)
        return g

    v = ag.Tensor(np.array(0.7), requires_grad=True)
    assert ag.gradcheck(first_derivative, [logits(), v])


def test_cross_entropy_backward_is_one_node():
    x = logits()

    (g,) = ag.grad(F.cross_entropy(x, TARGET), x, create_graph=True)

    assert g._node.function is F.CrossEntropyGrad


def test_cross_entropy_is_one_node_in_the_graph():
    x = logits()

    loss = F.cross_entropy(x, TARGET)

    assert loss._node.function is F.CrossEntropy
    (parent,) = loss._node.parents
    assert parent.is_leaf and parent.tensor() is x


def test_cross_entropy_through_a_layer_passes_gradgradcheck():
    def fn(x, w):
        return F.cross_entropy((x @ w).relu(), TARGET)

    w = ag.Tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert ag.gradgradcheck(fn, [logits()[:, :3].detach(), w])


def test_cross_entropy_of_huge_logits_is_finite_without_warnings():
    x = ag.Tensor(
        np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4]], dtype=np.float32),
        requires_grad=True,
    )
    target = [1, 1, 2]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, target)
        loss.backward()

    assert loss.item() == pytest.approx((2e4 + 0 + (2e4 + np.log(2))) / 3, rel=1e-6)
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data[2], [0.5 / 3, 0.5 / 3, -1 / 3], rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 6),
    classes=st.integers(1, 5),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_fused_cross_entropy_agrees_with_its_composition(rows, classes, scale, seed):
    rng = np.random.default_rng(seed)
    x = ag.Tensor(scale * rng.standard_normal((rows, classes)), requires_grad=True)
    target = rng.integers(0, classes, rows)

    fused = F.cross_entropy(x, target, reduction="sum")
    composed = F.nll_loss(F.log_softmax(x), target, reduction="sum")
    (fused_grad,) = ag.grad(fused, x)
    (composed_grad,) = ag.grad(composed, x)

    assert fused.item() == pytest.approx(composed.item(), rel=1e-12, abs=1e-12 * scale)
    np.testing.assert_allclose(fused_grad.data, composed_grad.data, rtol=1e-9, atol=1e-12)


def test_float32_logits_give_float32_loss_and_gradients():
    x = logits(dtype=np.float32)
    w = ag.Tensor(np.eye(4, dtype=np.float32), requires_grad=True)

    for loss in (F.cross_entropy(x @ w, TARGET), F.nll_loss(F.log_softmax(x @ w), TARGET)):
        x.grad = w.grad = None
        loss.backward()
        assert loss.dtype == x.grad.dtype == w.grad.dtype == np.float32


@pytest.mark.parametrize(
    "target", [TARGET.tolist(), ag.Tensor(TARGET), TARGET.astype(np.uint8)], ids=type
)
def test_targets_may_be_lists_tensors_or_any_integer_array(target):
    expected = F.cross_entropy(logits(), TARGET).item()

    assert F.cross_entropy(logits(), target).item() == expected
    assert F.nll_loss(logits(), target).item() == F.nll_loss(logits(), TARGET).item()


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize(
    "target, error, message",
    [
        ([2, 0, 3, 4, 1], IndexError, r"target\[3\] = 4 is not a class index: there are 4 classes"),
        ([2, 0, -1, 3, 1], IndexError, r"target\[2\] = -1 is not a class index"),
        ([2.0, 0.0, 3.0, 3.0, 1.0], TypeError, "target must hold integer class indices"),
        ([2, 0, 3, 3], ValueError, "target has 4 entries but the batch has 5 rows"),
        ([[2, 0, 3, 3, 1]], ValueError, r"target must be 1-D .* got shape \(1, 5\)"),
    ],
)
def test_bad_targets_are_named(loss, target, error, message):
    with pytest.raises(error, match=f"{loss.__name__}: {message}"):
        loss(logits(), target)


UNKNOWN_REDUCTION = "reduction must be one of 'mean', 'sum', 'none'; got 'average'"


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_an_unknown_reduction_lists_the_valid_ones(loss):
    with pytest.raises(ValueError, match=f"{loss.__name__}: {UNKNOWN_REDUCTION}"):
        loss(logits(), TARGET, reduction="average")


@pytest.mark.parametrize("module", [nn.CrossEntropyLoss, nn.NLLLoss])
def test_loss_modules_check_the_reduction_when_made(module):
    with pytest.raises(ValueError, match=f"{module.__name__}: {UNKNOWN_REDUCTION}"):
        module(reduction="average")


def test_loss_input_must_be_a_batch_of_rows():
    with pytest.raises(ValueError, match=r"shape \(batch, classes\), got \(4,\)"):
        F.cross_entropy(ag.Tensor(np.zeros(4)), [1])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_modules_call_their_functions(reduction):
    x = logits()

    ce = nn.CrossEntropyLoss(reduction)(x, TARGET)
    nll = nn.NLLLoss(reduction=reduction)(F.log_softmax(x), TARGET)

    assert ce.item() == F.cross_entropy(x, TARGET, reduction).item()
    assert nll.item() == pytest.approx(ce.item(), rel=1e-12)
    assert repr(nn.CrossEntropyLoss(reduction)) == f"CrossEntropyLoss(reduction={reduction!r})"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    x = logits(dtype=np.float32, scale=10)
    t = torch.tensor(x.data, requires_grad=True)

    loss = F.cross_entropy(x, TARGET, reduction)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(TARGET), reduction=reduction)
    expected.backward()

    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-5, atol=1e-7)


def leaf(rng, *shape) -> ag.Tensor:
    return ag.Tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("x_shape", [(4, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_passes_gradcheck_and_gradgradcheck(x_shape, with_bias):
    rng = np.random.default_rng(0)
    inputs = [leaf(rng, *x_shape), leaf(rng, 5, 3)] + ([leaf(rng, 5)] if with_bias else [])
    assert ag.gradcheck(F.linear, inputs)
    assert ag.gradgradcheck(F.linear, inputs)


def test_linear_is_x_times_weight_transposed_plus_bias():
    rng = np.random.default_rng(1)
    x, w, b = leaf(rng, 4, 3), leaf(rng, 5, 3), leaf(rng, 5)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)


def test_linear_weight_gradient_is_in_the_weights_own_layout():
    rng = np.random.default_rng(2)
    x, w = leaf(rng, 8, 3), leaf(rng, 5, 3)
    F.linear(x, w).sum().backward()
    assert w.grad.data.flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_integer_inputs_to_a_float32_linear_layer_give_float32(dtype):
    layer = nn.Linear(3, 2, rng=np.random.default_rng(0))
    x = np.ones((4, 3), dtype=dtype)

    out = layer(ag.Tensor(x))
    out.sum().backward()

    assert out.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    expected = np.ones((4, 3), dtype=np.float32) @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_integer_logits_are_taken_as_float32(loss):
    logits = np.array([[0, 0, 0], [5, 0, 0]], dtype=np.int64)

    value = loss(logits, [0, 0])

    assert value.dtype == np.float32
    np.testing.assert_allclose(value.item(), loss(logits.astype(np.float32), [0, 0]).item())


@pytest.mark.parametrize("loss", [F.cross_entropy, lambda x, t, r: F.nll_loss(x, t, r)])
def test_reduction_none_gives_one_loss_per_row_summing_to_the_sum(loss):
    x = logits()
    rows = loss(x, TARGET, "none")
    assert rows.shape == (len(TARGET),)
    np.testing.assert_allclose(rows.sum().data, loss(x, TARGET, "sum").data, rtol=1e-12)


def test_cross_entropy_per_row_weighs_each_rows_gradient_by_its_own_grad():
    x = logits()
    weights = np.arange(1.0, len(TARGET) + 1)
    F.cross_entropy(x, TARGET, "none").backward(weights)
    expected = ag.Tensor(x.data, requires_grad=True)
    (F.cross_entropy(expected, TARGET, "none") * weights).sum().backward()
    np.testing.assert_allclose(x.grad.data, expected.grad.data, rtol=1e-12)


def test_cross_entropy_per_row_passes_gradgradcheck():
    x = logits()
    weights = ag.Tensor(np.linspace(0.5, 2.0, len(TARGET)))
    assert ag.gradgradcheck(lambda x: (F.cross_entropy(x, TARGET, "none") * weights).sum(), [x])


def test_reduction_none_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = logits()
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(x.data), torch.tensor(TARGET), reduction="none"
    )
    np.testing.assert_allclose(F.cross_entropy(x, TARGET, "none").data, expected.numpy())


def test_the_mean_loss_of_an_empty_batch_is_nan_without_a_warning():
    x = ag.Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(F.cross_entropy(x, np.zeros(0, int)).item())
        assert np.isnan(F.nll_loss(x, np.zeros(0, int)).item())
