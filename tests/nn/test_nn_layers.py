import math

import numpy as np
import pytest

import autograd as ag
import nn


def module_gradcheck(module: nn.Module, *inputs: ag.Tensor) -> bool:
    """ag.gradcheck of module(*inputs) with respect to the inputs and every parameter.

    gradcheck differentiates float64 copies of what it is given, so the copies of
    the parameters are put in the module's attributes while it runs.
    """
    named = list(module.named_parameters())

    def owner_and_attribute(name: str) -> tuple[nn.Module, str]:
        *path, attribute = name.split(".")
        owner = module
        for part in path:
            owner = getattr(owner, part)
        return owner, attribute

    def fn(*args: ag.Tensor) -> ag.Tensor:
        for (name, _), copy in zip(named, args[len(inputs) :]):
            owner, attribute = owner_and_attribute(name)
            vars(owner)[attribute] = copy  # bypasses registration; restored below
        return module(*args[: len(inputs)])

    try:
        return ag.gradcheck(fn, [*inputs, *(p for _, p in named)])
    finally:
        for name, p in named:
            owner, attribute = owner_and_attribute(name)
            vars(owner)[attribute] = p


def tensor(*shape: int, seed: int = 0) -> ag.Tensor:
    data = np.random.default_rng(seed).standard_normal(shape)
    return ag.Tensor(data, requires_grad=True)


def test_linear_computes_x_weight_transposed_plus_bias():
    layer = nn.Linear(4, 3, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)

    y = layer(ag.Tensor(x))

    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(4, 3, bias=False)
    x = np.ones((2, 4), dtype=np.float32)

    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    np.testing.assert_allclose(layer(ag.Tensor(x)).data, x @ layer.weight.data.T, rtol=1e-6)
    assert repr(layer) == "Linear(in_features=4, out_features=3, bias=False)"


def test_linear_init_is_pytorch_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(400)

    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.99 * bound  # spread over the whole range
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_linear_init_is_reproducible_from_the_generator():
    a = nn.Linear(5, 4, rng=np.random.default_rng(3))
    b = nn.Linear(5, 4, rng=np.random.default_rng(3))
    c = nn.Linear(5, 4)

    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_linear_can_be_made_in_float64():
    layer = nn.Linear(3, 2, dtype=np.float64)

    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64


@pytest.mark.parametrize("bias", [True, False])
def test_linear_passes_gradcheck_for_input_weight_and_bias(bias):
    assert module_gradcheck(nn.Linear(4, 3, bias=bias), tensor(5, 4))


def test_sequential_mlp_passes_gradcheck_for_every_parameter():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.LogSoftmax())

    assert module_gradcheck(model, tensor(5, 4))


def test_relu_zeroes_negatives_and_passes_gradcheck():
    x = ag.Tensor(np.array([[-1.0, 0.5], [2.0, -3.0]]), requires_grad=True)

    np.testing.assert_array_equal(nn.ReLU()(x).data, [[0.0, 0.5], [2.0, 0.0]])
    assert module_gradcheck(nn.ReLU(), x)


def test_flatten_keeps_the_batch_axis_like_torch():
    x = ag.Tensor(np.zeros((2, 3, 4, 5)))

    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(start_dim=0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_flatten_passes_gradcheck():
    assert module_gradcheck(nn.Flatten(), tensor(2, 3, 2))


@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_layer_normalises_along_its_axis_and_passes_gradcheck(axis):
    x = tensor(3, 4)
    layer = nn.LogSoftmax(axis=axis)

    np.testing.assert_allclose(np.exp(layer(x).data).sum(axis=axis), 1.0, rtol=1e-12)
    assert module_gradcheck(layer, x)
    assert repr(layer) == f"LogSoftmax(axis={axis})"


# ----- nn.init -----


def test_kaiming_uniform_for_relu_has_bound_sqrt_6_over_fan_in():
    w = ag.Tensor(np.zeros((200, 300), dtype=np.float32))

    out = nn.init.kaiming_uniform_(w, nonlinearity="relu", rng=np.random.default_rng(0))

    bound = math.sqrt(2) * math.sqrt(3 / 300)
    assert out is w and w.dtype == np.float32
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound


def test_kaiming_normal_uses_gain_over_sqrt_fan():
    w = ag.Tensor(np.zeros((300, 200)))

    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", rng=np.random.default_rng(0))

    assert w.data.std() == pytest.approx(math.sqrt(2) / math.sqrt(300), rel=0.01)
    assert w.data.mean() == pytest.approx(0, abs=0.002)


def test_xavier_uniform_and_normal_use_both_fans():
    u = ag.Tensor(np.zeros((100, 300)))
    g = ag.Tensor(np.zeros((100, 300)))

    nn.init.xavier_uniform_(u, gain=2.0, rng=np.random.default_rng(0))
    nn.init.xavier_normal_(g, rng=np.random.default_rng(0))

    bound = 2.0 * math.sqrt(6 / 400)
    assert np.abs(u.data).max() <= bound and np.abs(u.data).max() > 0.99 * bound
    assert g.data.std() == pytest.approx(math.sqrt(2 / 400), rel=0.01)


def test_init_with_a_kernel_counts_the_receptive_field_in_the_fans():
    w = ag.Tensor(np.zeros((8, 4, 3, 3)))

    nn.init.xavier_uniform_(w, rng=np.random.default_rng(0))

    assert np.abs(w.data).max() <= math.sqrt(6 / (4 * 9 + 8 * 9))


def test_init_is_reproducible_and_in_place():
    a = ag.Tensor(np.zeros((4, 5), dtype=np.float32))
    b = ag.Tensor(np.zeros((4, 5), dtype=np.float32))
    array = a.data

    nn.init.kaiming_normal_(a, rng=np.random.default_rng(7))
    nn.init.kaiming_normal_(b, rng=np.random.default_rng(7))

    assert a.data is array
    np.testing.assert_array_equal(a.data, b.data)


def test_uniform_and_zeros():
    w = ag.Tensor(np.ones((50, 50)))

    nn.init.uniform_(w, -0.1, 0.2, rng=np.random.default_rng(0))
    assert w.data.min() >= -0.1 and w.data.max() <= 0.2
    nn.init.zeros_(w)
    assert not w.data.any()


def test_gains_follow_pytorch():
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")


def test_fans_need_two_axes():
    with pytest.raises(ValueError, match="2 or more axes, got \\(5,\\)"):
        nn.init.xavier_uniform_(ag.Tensor(np.zeros(5)))


def test_conv2d_layer_has_pytorch_parameter_shapes_and_computes_conv2d():
    layer = nn.Conv2d(3, 8, (3, 2), stride=2, padding=1, rng=np.random.default_rng(0))
    x = ag.Tensor(np.random.default_rng(1).standard_normal((2, 3, 9, 9)).astype(np.float32))

    y = layer(x)

    assert layer.weight.shape == (8, 3, 3, 2) and layer.bias.shape == (8,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert y.dtype == np.float32
    expected = nn.functional.conv2d(x, layer.weight, layer.bias, stride=2, padding=1)
    np.testing.assert_array_equal(y.data, expected.data)
    assert repr(layer) == (
        "Conv2d(3, 8, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), bias=True)"
    )


def test_conv2d_init_is_pytorch_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Conv2d(16, 64, 5, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(16 * 5 * 5)  # kaiming_uniform_(a=√5) gives this bound too

    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.95 * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)


def test_conv2d_init_is_reproducible_and_can_be_float64_or_without_bias():
    a = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(4))
    b = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(4))
    c = nn.Conv2d(2, 3, 3, bias=False, dtype=np.float64)

    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert c.bias is None and c.weight.dtype == np.float64


def test_conv2d_layer_passes_gradcheck_for_input_weight_and_bias():
    layer = nn.Conv2d(2, 3, 2, padding=1, dtype=np.float64)

    assert module_gradcheck(layer, tensor(2, 2, 4, 3))


def test_a_pytorch_conv2d_state_dict_loads_unchanged_and_computes_the_same():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1)
    ours = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 7)).astype(np.float32)

    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(ag.Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "layer, function", [(nn.MaxPool2d, "max_pool2d"), (nn.AvgPool2d, "avg_pool2d")]
)
def test_pooling_layers_apply_their_function(layer, function):
    x = ag.Tensor(np.random.default_rng(0).standard_normal((2, 3, 7, 7)))
    pool = layer(3, stride=2, padding=1)

    expected = getattr(nn.functional, function)(x, 3, 2, 1)

    np.testing.assert_array_equal(pool(x).data, expected.data)
    assert list(pool.parameters()) == []
    assert repr(pool) == f"{layer.__name__}(kernel_size=3, stride=2, padding=1)"


def test_an_average_pool_is_not_a_max_pool():
    assert not isinstance(nn.AvgPool2d(2), nn.MaxPool2d)
    assert not isinstance(nn.MaxPool2d(2), nn.AvgPool2d)
