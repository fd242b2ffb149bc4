"""mnist.diagnostics: per-layer gradient norms, update ratios and ReLU statistics, sampled."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as ag
import nn
from mnist.diagnostics import Diagnostics, from_checkpoint


def mlp() -> nn.Sequential:
    rng = np.random.default_rng(0)
    return nn.Sequential(
        nn.Linear(4, 3, rng=rng, dtype=np.float64),
        nn.ReLU(),
        nn.Linear(3, 2, rng=rng, dtype=np.float64),
    )


def step(model: nn.Module, optimizer: nn.optim.Optimizer, x: np.ndarray) -> None:
    loss = (model(ag.Tensor(x)) ** 2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def train(model, optimizer, diagnostics, batches) -> None:
    for i, x in enumerate(batches):
        with diagnostics.watch(i):
            step(model, optimizer, x)


BATCHES = [np.random.default_rng(i).standard_normal((5, 4)) for i in range(7)]


def test_every_kth_step_is_sampled_starting_with_the_first():
    model = mlp()
    diagnostics = Diagnostics(model, every=3)
    train(model, nn.optim.SGD(model.parameters(), lr=0.1), diagnostics, BATCHES)
    assert diagnostics.epoch_summary()["sampled_steps"] == 3  # steps 0, 3 and 6


def test_every_zero_samples_nothing():
    model = mlp()
    diagnostics = Diagnostics(model, every=0)
    train(model, nn.optim.SGD(model.parameters(), lr=0.1), diagnostics, BATCHES)
    assert diagnostics.epoch_summary() is None


def test_layers_are_modules_with_parameters_and_relus_are_named_as_in_named_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = mlp()
            self.scale = nn.Parameter(np.ones(2))

        def forward(self, x):
            return self.body(x) * self.scale

    diagnostics = Diagnostics(Net(), every=1)
    assert list(diagnostics.layers) == ["model", "body.0", "body.2"]
    assert [len(params) for params in diagnostics.layers.values()] == [1, 2, 2]
    assert list(diagnostics.relus) == ["body.1"]


def test_grad_norm_and_update_ratio_are_those_of_the_optimizer_step():
    model = mlp()
    lr = 0.01
    diagnostics = Diagnostics(model, every=1)
    first = model[0]
    w, b = first.weight.data.copy(), first.bias.data.copy()
    with diagnostics.watch(0):
        step(model, nn.optim.SGD(model.parameters(), lr=lr), BATCHES[0])
    grad_norm = np.sqrt((first.weight.grad.data**2).sum() + (first.bias.grad.data**2).sum())
    summary = diagnostics.epoch_summary()
    assert summary["grad_norm"]["0"] == pytest.approx(grad_norm, rel=1e-12)
    # plain SGD: Δw = -lr · g, so ‖Δw‖ / ‖w‖ = lr ‖g‖ / ‖w‖
    weights_norm = np.sqrt((w**2).sum() + (b**2).sum())
    assert summary["update_ratio"]["0"] == pytest.approx(lr * grad_norm / weights_norm, rel=1e-9)


def test_relu_statistics_cover_every_example_of_the_sampled_batches():
    model = mlp()
    diagnostics = Diagnostics(model, every=2)
    outputs = []
    model[1].register_forward_hook(lambda m, inputs, out: outputs.append(out.data.copy()))
    train(model, nn.optim.SGD(model.parameters(), lr=0.0), diagnostics, BATCHES[:3])
    sampled = np.concatenate([outputs[0], outputs[2]])  # steps 0 and 2
    summary = diagnostics.epoch_summary()
    assert summary["dead_fraction"]["1"] == pytest.approx((sampled.max(axis=0) == 0).mean())
    assert summary["activation_mean"]["1"] == pytest.approx(sampled.mean(), rel=1e-12)
    assert summary["activation_std"]["1"] == pytest.approx(sampled.std(), rel=1e-9)


def test_a_unit_dead_for_every_example_counts_and_a_once_alive_one_does_not():
    model = mlp()
    model[0].bias.data[:] = [-100.0, 100.0, -100.0]  # units 0 and 2 never fire
    diagnostics = Diagnostics(model, every=1)
    train(model, nn.optim.SGD(model.parameters(), lr=0.0), diagnostics, BATCHES[:2])
    assert diagnostics.epoch_summary()["dead_fraction"]["1"] == pytest.approx(2 / 3)


def test_diagnostics_change_nothing_in_training():
    runs = []
    for every in (0, 1):
        model = mlp()
        optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
        train(model, optimizer, Diagnostics(model, every), BATCHES)
        runs.append(model.state_dict())
    for name, value in runs[0].items():
        np.testing.assert_array_equal(runs[1][name], value, err_msg=name)


def test_each_epoch_summary_starts_afresh():
    model = mlp()
    diagnostics = Diagnostics(model, every=1)
    optimizer = nn.optim.SGD(model.parameters(), lr=0.1)
    train(model, optimizer, diagnostics, BATCHES[:4])
    diagnostics.epoch_summary()
    train(model, optimizer, diagnostics, BATCHES[:2])
    assert diagnostics.epoch_summary()["sampled_steps"] == 2


def test_an_epoch_continued_from_a_saved_state_sums_to_the_same_summary(tmp_path):
    whole_model, part_model = mlp(), mlp()
    whole, part = Diagnostics(whole_model, every=2), Diagnostics(part_model, every=2)
    train(whole_model, nn.optim.SGD(whole_model.parameters(), lr=0.1), whole, BATCHES)
    optimizer = nn.optim.SGD(part_model.parameters(), lr=0.1)
    train(part_model, optimizer, part, BATCHES[:3])
    nn.save({"sums": part.state_dict()}, tmp_path / "ck.npz")
    resumed = Diagnostics(part_model, every=2)
    resumed.load_state_dict(nn.load(tmp_path / "ck.npz")["sums"])
    for i, x in enumerate(BATCHES[3:], start=3):
        with resumed.watch(i):
            step(part_model, optimizer, x)
    assert resumed.epoch_summary() == whole.epoch_summary()


def test_a_summary_comes_back_from_a_checkpoint_as_numbers(tmp_path):
    model = mlp()
    diagnostics = Diagnostics(model, every=1)
    train(model, nn.optim.SGD(model.parameters(), lr=0.1), diagnostics, BATCHES[:2])
    summary = diagnostics.epoch_summary()
    nn.save({"summary": summary}, tmp_path / "ck.npz")
    assert from_checkpoint(nn.load(tmp_path / "ck.npz")["summary"]) == summary
