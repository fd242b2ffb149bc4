"""nn.functional.dropout and nn.Dropout (nn/dropout.py, nn/layers.py)."""

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F


def ones(*shape, dtype=np.float32):
    return ag.Tensor(np.ones(shape, dtype=dtype), requires_grad=True)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest_by_one_over_one_minus_p(p):
    out = F.dropout(ones(1000, 1000), p, rng=np.random.default_rng(0)).data

    kept = out != 0
    assert kept.mean() == pytest.approx(1 - p, abs=0.002)  # 1,000,000 draws: σ ≤ 0.0005
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)
    assert out.mean() == pytest.approx(1.0, abs=0.005)  # the expected value is kept


def test_dropout_draws_independent_masks_for_every_element():
    out = F.dropout(ones(2000, 2), 0.5, rng=np.random.default_rng(0)).data != 0

    # two columns of independent fair coins agree about half of the time
    assert (out[:, 0] == out[:, 1]).mean() == pytest.approx(0.5, abs=0.05)


def test_dropout_gradient_is_the_same_mask_and_scale():
    x = ones(50, 40)

    out = F.dropout(x, 0.3, rng=np.random.default_rng(0))
    out.sum().backward()

    np.testing.assert_array_equal(x.grad.data, out.data)  # d out / dx = mask / (1 - p)


def test_dropout_with_a_fixed_mask_passes_gradcheck_and_gradgradcheck():
    def fn(x):
        return F.dropout(x, 0.4, rng=np.random.default_rng(3)) ** 2

    x = ag.Tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True)
    assert ag.gradcheck(fn, [x])
    assert ag.gradgradcheck(fn, [x])


def test_the_same_generator_state_gives_the_same_mask():
    a = F.dropout(ones(100), 0.5, rng=np.random.default_rng(7)).data
    b = F.dropout(ones(100), 0.5, rng=np.random.default_rng(7)).data
    c = F.dropout(ones(100), 0.5, rng=np.random.default_rng(8)).data

    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_the_dtype(dtype):
    x = ones(10, 10, dtype=dtype)

    out = F.dropout(x, 0.5)
    out.sum().backward()

    assert out.dtype == x.grad.dtype == dtype


def test_dropout_outside_training_or_with_p_zero_is_the_identity():
    x = ones(3, 4)

    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_with_p_one_zeroes_everything_as_pytorch():
    x = ones(3, 4)

    out = F.dropout(x, 1.0)
    out.sum().backward()

    np.testing.assert_array_equal(out.data, 0)
    np.testing.assert_array_equal(x.grad.data, 0)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_a_probability_outside_zero_to_one_is_refused(p):
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        F.dropout(ones(2), p)
    with pytest.raises(ValueError, match="Dropout: p is the probability"):
        nn.Dropout(p)


def test_dropout_layer_is_active_in_train_mode_and_the_identity_in_eval_mode():
    layer = nn.Dropout(0.5, rng=np.random.default_rng(0))
    x = ones(20, 20)

    assert layer.training
    assert (layer(x).data == 0).any()
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert (layer(x).data == 0).any()


def test_train_and_eval_switch_a_dropout_nested_in_submodules():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Dropout(0.9)))
    x = ag.Tensor(np.ones((50, 4), dtype=np.float32))

    model.eval()
    assert not model[1][1].training
    np.testing.assert_array_equal(model(x).data, model[1](model[0](x)).data)  # no masks
    model.train()
    assert model[1][1].training


def test_dropout_layer_draws_from_its_generator_which_can_be_replaced():
    layer = nn.Dropout(0.5)
    x = ones(100)

    layer.rng = np.random.default_rng(1)
    first = layer(x).data
    layer.rng = np.random.default_rng(1)

    np.testing.assert_array_equal(layer(x).data, first)
    assert repr(layer) == "Dropout(p=0.5)"


def test_dropout_of_integers_scales_them_in_float32():
    counts = ag.Tensor(np.full(1000, 9, dtype=np.int64))

    out = F.dropout(counts, 0.1, rng=np.random.default_rng(0))

    assert out.dtype == np.float32
    assert set(np.unique(out.data)) == {np.float32(0), np.float32(9 / 0.9)}
