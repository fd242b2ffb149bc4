"""nn/allocator.py: glibc's malloc keeps a step's large temporaries for the next step,
and no array that something still holds is ever handed out again."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import mnist.model
import nn
import nn.functional as F

REPO = Path(__file__).resolve().parents[2]
GLIBC = (
    sys.platform.startswith("linux")
    and "CS_GNU_LIBC_VERSION" in os.confstr_names
    and os.confstr("CS_GNU_LIBC_VERSION") is not None
)

FAULTS_PER_STEP = """
import json, resource, sys
import numpy as np
import autograd as ag, mnist.model, nn, nn.functional as F
rng = np.random.default_rng(0)
model = mnist.model.cnn(rng)
x, y = rng.random((64, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)
def step():
    model.zero_grad()
    F.cross_entropy(model(ag.Tensor(x)), y).backward()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"active": nn.allocator.ACTIVE, "faults": (after - before) / 10}))
"""


def faults_per_step(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_STEP],
        cwd=REPO,
        env=environment | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_training_step_faults_no_pages_in_once_warm_unless_switched_off():
    kept, default = faults_per_step(), faults_per_step(AUTOGRAD_MALLOPT="0")

    assert kept["active"] and not default["active"]
    assert kept["faults"] < 50  # a few small arrays at most; glibc's defaults: hundreds
    assert default["faults"] > 4 * kept["faults"] + 100


def batch(seed: int, n: int = 16) -> tuple[ag.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    return ag.Tensor(rng.random((n, 1, 28, 28), dtype=np.float32)), rng.integers(0, 10, n)


def gradients(model: nn.Module) -> list[np.ndarray]:
    return [p.grad.data.copy() for p in model.parameters()]


def test_two_graphs_alive_at_once_keep_their_own_values():
    model = mnist.model.cnn(np.random.default_rng(0), dropout=0.0)
    (xa, ya), (xb, yb) = batch(1), batch(2)
    alone = []
    for x, y in ((xa, ya), (xb, yb)):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        alone.append(gradients(model))

    loss_a = F.cross_entropy(model(xa), ya)
    loss_b = F.cross_entropy(model(xb), yb)  # both graphs, and their saved arrays, alive
    for loss, expected in ((loss_a, alone[0]), (loss_b, alone[1]), (loss_a, alone[0])):
        model.zero_grad()
        loss.backward(retain_graph=True)
        for got, want in zip(gradients(model), expected):
            np.testing.assert_array_equal(got, want)


def test_a_gradient_and_an_output_kept_from_an_earlier_step_stay_as_they_were():
    model = mnist.model.cnn(np.random.default_rng(0), dropout=0.0)
    optimizer = nn.optim.RMSprop(model.parameters(), lr=1e-3)
    x, y = batch(1)
    logits = model(x)
    F.cross_entropy(logits, y).backward()
    kept_grads = [p.grad for p in model.parameters()]  # the Tensors, not copies
    kept_logits, values = logits, (logits.data.copy(), [g.data.copy() for g in kept_grads])

    for seed in range(2, 6):  # more steps, whose temporaries come and go
        optimizer.zero_grad()
        xs, ys = batch(seed)
        F.cross_entropy(model(xs), ys).backward()
        optimizer.step()

    np.testing.assert_array_equal(kept_logits.data, values[0])
    for g, before in zip(kept_grads, values[1]):
        np.testing.assert_array_equal(g.data, before)


def train(seed: int, steps: int = 3) -> list[np.ndarray]:
    """The CNN's parameters after `steps` RMSprop steps on batches drawn from `seed`."""
    model = mnist.model.cnn(np.random.default_rng(seed), dropout=0.0)
    optimizer = nn.optim.RMSprop(model.parameters(), lr=1e-3)
    for step in range(steps):
        x, y = batch(100 * seed + step)
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return [p.data.copy() for p in model.parameters()]


def test_two_threads_training_two_models_at_once_get_their_serial_results():
    serial = [train(1), train(2)]
    results: dict[int, list[np.ndarray]] = {}
    threads = [threading.Thread(target=lambda s=s: results.update({s: train(s)})) for s in (1, 2)]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for seed, expected in zip((1, 2), serial):
        for got, want in zip(results[seed], expected):
            np.testing.assert_array_equal(got, want)
