"""t.retain_grad() and ag.retain_grads(): gradients of intermediate results, kept on request."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import autograd as ag


def leaf(*values: float) -> ag.Tensor:
    return ag.Tensor(np.array(values), requires_grad=True)


def test_a_non_leaf_that_retains_its_grad_has_it_after_backward():
    x = leaf(1.0, 2.0, 3.0)
    h = x * 2.0
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.data, 2 * h.data)  # d(h²)/dh = 2h
    assert h.retains_grad


def test_tensors_that_did_not_ask_keep_grad_none():
    x = leaf(1.0, 2.0)
    h = x.exp()
    y = h * 3.0
    y.retain_grad()
    y.sum().backward()
    assert h.grad is None and not h.retains_grad
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])


def test_retain_grad_on_a_leaf_changes_nothing():
    x = leaf(1.0, 2.0)
    x.retain_grad()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert not x.retains_grad  # as in PyTorch: a leaf keeps its grad anyway


def test_retain_grad_on_a_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).retain_grad()


def test_a_reused_intermediate_gets_the_sum_over_its_uses():
    x = leaf(0.5, -1.0)
    h = x * 3.0
    h.retain_grad()
    (h * h + h.exp()).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data + np.exp(h.data))


def test_a_broadcast_add_gives_each_retained_result_its_own_shape():
    x = ag.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = leaf(1.0, 2.0, 3.0)
    s = x + b  # (2, 3) from (2, 3) and (3,)
    s.retain_grad()
    (s * s).sum().backward()
    np.testing.assert_array_equal(s.grad.data, 2 * s.data)
    np.testing.assert_array_equal(b.grad.data, (2 * s.data).sum(axis=0))


def test_the_root_can_retain_its_grad():
    y = (leaf(1.0, 2.0) * 2.0).sum()
    y.retain_grad()
    y.backward()
    assert y.grad.item() == 1.0


def test_retained_grads_accumulate_over_backward_calls_like_leaf_grads():
    x = leaf(1.0, 2.0)
    h = x * x
    h.retain_grad()
    y = (h * 3.0).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(h.grad.data, [6.0, 6.0])


def test_a_retained_grad_is_writable_and_shares_no_memory_with_a_leaf_grad():
    x = leaf(1.0, 2.0)
    s = x + 1.0  # Add passes on the gradient it gets: x and s would share one array
    s.retain_grad()
    (s * 2.0).sum().backward()
    s.grad.data[...] = 0
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_with_create_graph_a_retained_grad_is_differentiable():
    x = leaf(1.0, 2.0)
    h = x * x
    h.retain_grad()
    (h * h).sum().backward(create_graph=True)  # dL/dh = 2h = 2x²
    assert h.grad.requires_grad
    (d,) = ag.grad(h.grad.sum(), x)
    np.testing.assert_array_equal(d.data, 4 * x.data)  # d(2x²)/dx


def test_ag_grad_leaves_retained_grads_untouched():
    x = leaf(1.0, 2.0)
    h = x * x
    h.retain_grad()
    ag.grad(h.sum(), x)
    assert h.grad is None


def test_a_hidden_layer_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w1, b1, w2 = (rng.standard_normal(s) for s in [(4, 3), (3, 5), (5,), (5, 2)])

    def forward(lib, x, w1, b1, w2):
        pre = x @ w1 + b1  # a broadcast add
        hidden = pre.relu() if lib is ag else torch.relu(pre)
        out = hidden @ w2
        loss = (out * out).sum() + hidden.sum()  # hidden is used twice
        for t in (pre, hidden, out):
            t.retain_grad()
        loss.backward()
        return pre, hidden, out

    ours = forward(ag, ag.Tensor(x), *(ag.Tensor(a, requires_grad=True) for a in (w1, b1, w2)))
    theirs = forward(
        torch, torch.tensor(x), *(torch.tensor(a, requires_grad=True) for a in (w1, b1, w2))
    )
    for name, a, b in zip(["pre", "hidden", "out"], ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, err_msg=name)


# ----- ag.retain_grads(): every result, without asking each -----


def test_inside_retain_grads_every_result_gets_its_gradient():
    x = leaf(1.0, 2.0)
    with ag.retain_grads():
        h = x.exp()
        y = h * x
        loss = y.sum()
        loss.backward()
    np.testing.assert_allclose(h.grad.data, x.data)
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    assert loss.grad.item() == 1.0


def test_retain_grads_keeps_values_and_grads_no_tensor_holds():
    x = leaf(1.0, 2.0)
    with ag.retain_grads():
        loss = ((x + 1.0) * 2.0).sum()  # nothing holds x + 1 but its node
    loss.backward()  # after the block: the nodes recorded inside still keep their gradients
    add = loss._node.parents[0].parents[0]
    assert add.function.__name__ == "Add" and add.output() is None
    np.testing.assert_array_equal(add.kept_value, [2.0, 3.0])
    np.testing.assert_array_equal(add.kept_grad, [2.0, 2.0])


def test_outside_retain_grads_nothing_is_kept():
    x = leaf(1.0, 2.0)
    with ag.retain_grads():
        pass
    h = x * 2.0
    h.sum().backward()
    assert h.grad is None and h._node.kept_value is None and h._node.kept_grad is None


def test_retain_grads_is_a_decorator_too_and_nests():
    @ag.retain_grads()
    def forward(x):
        return x * 2.0

    x = leaf(1.0)
    with ag.retain_grads():
        with ag.retain_grads():
            inner = x * 3.0
        outer = x * 4.0
    assert inner.retains_grad and outer.retains_grad and forward(x).retains_grad
    assert not (x * 5.0).retains_grad


def test_retain_grads_is_per_thread():
    seen = {}

    def other_thread():
        seen["other"] = (leaf(1.0) * 2.0).retains_grad

    with ag.retain_grads():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        seen["this"] = (leaf(1.0) * 2.0).retains_grad
    assert seen == {"other": False, "this": True}
