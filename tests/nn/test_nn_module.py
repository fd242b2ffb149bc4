import copy
from collections import OrderedDict

import numpy as np
import pytest

import autograd as ag
import nn


def mlp(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU(), nn.Linear(3, 2, rng=rng))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = mlp()
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))

    def forward(self, x):
        return self.body(x) * self.scale


def test_sequential_names_parameters_by_position():
    names = [name for name, _ in mlp().named_parameters()]

    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_nested_modules_give_dotted_names_in_registration_order():
    names = [name for name, _ in Net().named_parameters()]

    assert names == ["scale", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"]


def test_parameters_match_named_parameters_and_are_parameters():
    net = Net()

    params = list(net.parameters())

    assert [id(p) for p in params] == [id(p) for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)


def test_shared_parameter_is_listed_once_but_saved_under_each_name():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)

    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_reassigning_a_parameter_keeps_its_place_and_none_removes_it():
    layer = nn.Linear(2, 3)
    layer.weight = nn.Parameter(np.zeros((3, 2), dtype=np.float32))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]

    layer.bias = None

    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_assigning_a_plain_tensor_over_a_parameter_is_refused():
    layer = nn.Linear(2, 3)

    with pytest.raises(TypeError, match="parameter 'weight'.*nn.Parameter"):
        layer.weight = ag.Tensor(np.zeros((3, 2), dtype=np.float32))


def test_assigning_before_module_init_says_to_call_super_init():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_deleting_an_attribute_unregisters_it():
    net = Net()

    del net.scale

    assert "scale" not in dict(net.named_parameters())


def test_call_runs_forward():
    net = Net()
    x = ag.Tensor(np.ones((5, 4), dtype=np.float32))

    np.testing.assert_array_equal(net(x).data, net.forward(x).data)


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(1)


def test_zero_grad_sets_every_grad_to_none():
    net = Net()
    net(ag.Tensor(np.ones((5, 4), dtype=np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())

    net.zero_grad()

    assert all(p.grad is None for p in net.parameters())


def test_train_and_eval_set_the_flag_recursively_and_return_self():
    net = Net()

    assert net.eval() is net
    assert not net.training and not net.body.training and not net.body[1].training
    assert net.train() is net
    assert net.training and net.body[2].training


def test_sequential_indexes_slices_iterates_and_has_a_length():
    model = mlp()

    assert len(model) == 3
    assert isinstance(model[1], nn.ReLU) and model[-1] is model[2]
    assert list(model) == [model[0], model[1], model[2]]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]


def test_sequential_refuses_what_is_not_a_module():
    with pytest.raises(TypeError, match="item 1 is a function"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_state_dict_is_an_ordered_dict_of_copies():
    model = mlp()

    state = model.state_dict()
    state["0.weight"][...] = 7

    assert isinstance(state, OrderedDict)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert not np.any(model[0].weight.data == 7)


def test_load_state_dict_copies_values_into_the_same_arrays():
    model, source = mlp(seed=0), mlp(seed=1)
    arrays = [p.data for p in model.parameters()]

    model.load_state_dict(source.state_dict())

    assert [p.data for p in model.parameters()] == arrays  # the same objects, new values
    for p, q in zip(model.parameters(), source.parameters()):
        assert p.data is not q.data
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_keeps_the_parameter_dtype():
    model = mlp()
    state = {name: value.astype(np.float64) + 0.5 for name, value in model.state_dict().items()}

    model.load_state_dict(state)

    assert all(p.dtype == np.float32 for p in model.parameters())
    np.testing.assert_array_equal(model[0].bias.data, state["0.bias"].astype(np.float32))


def test_load_state_dict_lists_every_missing_unexpected_and_misshapen_name_at_once():
    model = mlp()
    state = model.state_dict()
    del state["2.weight"], state["2.bias"]
    state["3.weight"] = np.zeros((2, 3))
    state["0.weight"] = np.zeros((4, 3))
    before = model.state_dict()

    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)

    message = str(error.value)
    assert "missing: 2.weight, 2.bias" in message
    assert "unexpected: 3.weight" in message
    assert "wrong shape: 0.weight (expected (3, 4), got (4, 3))" in message
    for name, value in model.state_dict().items():  # nothing was loaded
        np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_refuses_values_of_another_kind():
    model = mlp()
    state = model.state_dict()
    state["0.bias"] = np.array(["a", "b", "c"])

    with pytest.raises(ValueError, match=r"wrong dtype: 0.bias \(cannot cast <U1 to float32\)"):
        model.load_state_dict(state)


TORCH_NAMES = {"0.weight": (3, 4), "0.bias": (3,), "2.weight": (2, 3), "2.bias": (2,)}


def test_a_state_dict_named_as_pytorch_exports_it_loads_unchanged():
    # what {k: v.numpy() for k, v in torch_model.state_dict().items()} gives
    rng = np.random.default_rng(5)
    exported = {
        name: rng.standard_normal(shape).astype(np.float32) for name, shape in TORCH_NAMES.items()
    }
    model = mlp()

    model.load_state_dict(exported)

    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, exported[name])


def test_a_pytorch_model_state_dict_loads_and_computes_the_same():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    model = mlp()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)

    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})

    expected = reference(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(ag.Tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


def test_repr_shows_the_tree_like_pytorch():
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=2, bias=True)\n"
        ")"
    )
    assert repr(Net()).startswith("Net(\n  (body): Sequential(\n    (0): Linear(")


def test_parameter_is_a_float32_leaf_that_requires_grad():
    p = nn.Parameter([1.0, 2.0])

    assert isinstance(p, ag.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_named_modules_lists_the_model_and_every_submodule_by_dotted_name():
    names = [(name, type(m).__name__) for name, m in Net().named_modules()]
    assert names == [
        ("", "Net"),
        ("body", "Sequential"),
        ("body.0", "Linear"),
        ("body.1", "ReLU"),
        ("body.2", "Linear"),
    ]


def test_named_modules_lists_a_shared_module_once():
    relu = nn.ReLU()
    assert [name for name, _ in nn.Sequential(relu, relu).named_modules()] == ["", "0"]


def test_a_forward_hook_sees_inputs_and_output_until_removed():
    model = mlp()
    seen = []
    handle = model[1].register_forward_hook(lambda m, inputs, out: seen.append((m, inputs, out)))
    x = ag.Tensor(np.ones((1, 4), dtype=np.float32))
    model(x)
    ((module, inputs, out),) = seen
    assert module is model[1] and inputs[0].shape == (1, 3)
    np.testing.assert_array_equal(out.data, np.maximum(inputs[0].data, 0))
    handle.remove()
    model(x)
    assert len(seen) == 1


def test_a_forward_hook_that_returns_a_value_replaces_the_output():
    relu = nn.ReLU()
    relu.register_forward_hook(lambda m, inputs, out: out * 2.0)
    assert relu(ag.tensor([1.0, -1.0])).data.tolist() == [2.0, 0.0]


def test_a_deep_copy_of_a_trained_model_accumulates_into_its_own_parameters():
    model = nn.Linear(3, 2)
    x = ag.tensor([[1.0, 2.0, 3.0]])
    model(x).sum().backward()
    model.zero_grad()
    twin = copy.deepcopy(model)
    twin(x).sum().backward()
    assert model.weight.grad is None
    np.testing.assert_array_equal(twin.weight.grad.data, [[1.0, 2.0, 3.0]] * 2)
