"""A tensor changed in place between forward and backward: backward refuses it, as
PyTorch's version counters do, instead of using the new values silently."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn

MODIFIED = "modified in place"


def linear_and_input() -> tuple[nn.Linear, ag.Tensor]:
    lin = nn.Linear(3, 1)
    return lin, ag.tensor([[1.0, 2.0, 3.0]], requires_grad=True)


def test_an_optimizer_step_between_forward_and_backward_is_refused():
    lin, x = linear_and_input()
    opt = nn.optim.SGD(lin.parameters(), lr=0.5)
    l1 = lin(x).sum()
    l2 = (lin(x) ** 2).sum()
    l1.backward()
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        l2.backward()


def test_the_error_names_the_operation_and_the_shape():
    w = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = ag.tensor([[1.0, 1.0]])
    y = (x @ w).sum()
    w.bump_version()
    with pytest.raises(RuntimeError, match=r"shape \(2, 2\) that MatMul saved"):
        y.backward()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: nn.optim.RMSprop(ps, lr=0.1),
        lambda ps: nn.optim.Adam(ps, lr=0.1),
    ],
    ids=["sgd", "rmsprop", "adam"],
)
def test_every_optimizer_step_bumps_the_version_of_what_it_updates(make):
    lin, x = linear_and_input()
    lin(x).sum().backward()
    before = [p._version for p in lin.parameters()]
    make(list(lin.parameters())).step()
    assert [p._version for p in lin.parameters()] == [v + 1 for v in before]


def test_load_state_dict_bumps_the_version():
    lin, x = linear_and_input()
    y = lin(x).sum()
    lin.load_state_dict(nn.Linear(3, 1).state_dict())
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_initialising_in_place_bumps_the_version():
    lin, x = linear_and_input()
    y = lin(x).sum()
    nn.init.zeros_(lin.weight)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_a_forward_after_the_step_backpropagates_with_the_new_values():
    lin, x = linear_and_input()
    opt = nn.optim.SGD(lin.parameters(), lr=0.5)
    lin(x).sum().backward()
    opt.step()
    x.grad = None
    lin(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, lin.weight.data)


def test_a_step_after_the_last_backward_is_the_usual_loop_and_raises_nothing():
    lin, x = linear_and_input()
    opt = nn.optim.SGD(lin.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (lin(x) ** 2).sum().backward()
        opt.step()


def test_a_detached_copy_shares_the_version():
    w = ag.tensor([2.0, 3.0], requires_grad=True)
    x = ag.tensor([1.0, 1.0], requires_grad=True)
    y = (x * w.detach()).sum()
    w.bump_version()
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_writing_into_data_with_numpy_is_not_tracked_as_in_pytorch():
    w = ag.tensor([2.0, 3.0], requires_grad=True)
    x = ag.tensor([1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    w.data[...] = [5.0, 7.0]  # documented: .data is the raw array, outside the graph
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 7.0])


def test_pytorch_refuses_the_same_sequence():
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    x = torch.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    l1, l2 = lin(x).sum(), (lin(x) ** 2).sum()
    l1.backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        l2.backward()
