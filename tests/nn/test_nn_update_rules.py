"""Both implementations of each update rule compute exactly what its definition computes.

The definition is the element loop in nn/update_rules.py, run here as plain Python on
NumPy scalars: one rounding per operation, in the arrays' dtype. NumPy's whole-array
passes (nn/update_rules_numpy.py) and numba's compiled loops must match it bit for bit;
a compiled loop that fused a*b + c into one FMA, or reordered a sum, would not.
"""

import math
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import update_rules
from nn.update_rules_numpy import NumpyRules

DTYPES = [np.float32, np.float64]
N = 2000


def arrays(count: int, dtype) -> list[np.ndarray]:
    """Random arrays whose values are normal, near the subnormal floor, subnormal or zero:
    then g² and the running averages of g² cross the floor."""
    rng = np.random.default_rng(0)
    tiny = np.finfo(dtype).smallest_normal
    scales = np.array([1.0, math.sqrt(tiny) * 4, tiny * 2, tiny / 4, 0.0])
    return [
        np.abs(rng.standard_normal(N) * rng.choice(scales, N)).astype(dtype) for _ in range(count)
    ]


def adam_arguments(t: int, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam's scalars at step t, with its bias corrections, as nn.optim.Adam computes them."""
    return lr / (1 - beta1**t), 1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2**t), eps


# rule, number of arrays, scalars (after the arrays); the floor is the smallest normal number
CASES = {
    "sgd": ("sgd", 3, (0.1, 0.0, 0.0, False)),
    "sgd-momentum-first-step": ("sgd", 3, (0.1, 0.9, 0.0, True)),
    "sgd-momentum": ("sgd", 3, (0.1, 0.9, 0.0, False)),
    "sgd-weight-decay": ("sgd", 3, (0.1, 0.0, 0.01, False)),
    "sgd-momentum-weight-decay": ("sgd", 3, (0.05, 0.5, 0.1, False)),
    "rmsprop": ("rmsprop", 3, (1e-3, 0.9, 1 - 0.9, 1e-7, 0.0)),
    "rmsprop-floor": ("rmsprop", 3, (1e-3, 0.9, 1 - 0.9, 1e-7, "floor")),
    "adam-step-1-floor": ("adam", 4, (*adam_arguments(1), "floor")),
    "adam-step-3": ("adam", 4, (*adam_arguments(3), 0.0)),
    "adam-step-40-floor": ("adam", 4, (*adam_arguments(40, 0.1, 0.8, 0.9, 1e-2), "floor")),
}


def run(rules, case: str, dtype) -> list[np.ndarray]:
    """The case's arrays after one call of its rule from `rules`, with the scalars as the
    optimizers pass them: Python floats (and a bool)."""
    rule, count, scalars = CASES[case]
    floor = float(np.finfo(dtype).smallest_normal)
    operands = arrays(count, dtype)
    getattr(rules, rule)(*operands, *[floor if s == "floor" else s for s in scalars])
    return operands


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_numpy_rules_compute_what_the_definition_computes(case, dtype):
    expected = run(update_rules, case, dtype)

    actual = run(NumpyRules(), case, dtype)

    for a, b in zip(actual, expected):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_compiled_rules_compute_what_the_definition_computes(case, dtype):
    pytest.importorskip("numba", reason="the compiled rules need the numba extra")
    expected = run(update_rules, case, dtype)

    actual = run(update_rules.compiled(), case, dtype)

    for a, b in zip(actual, expected):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_the_floor_sets_subnormal_averages_to_zero_and_keeps_the_rest():
    v = np.array([1e-40, 0.0, 2e-38], np.float32)  # subnormal, zero, normal
    p, g = np.ones(3, np.float32), np.zeros(3, np.float32)
    floor = float(np.finfo(np.float32).smallest_normal)

    NumpyRules().rmsprop(p, g, v, 1e-3, 1.0, 0.0, 1e-7, floor)

    np.testing.assert_array_equal(v, np.array([0.0, 0.0, 2e-38], np.float32))


OPTIMIZERS = {
    "sgd": lambda params: nn.optim.SGD(params, lr=0.1),
    "sgd-momentum-weight-decay": lambda params: nn.optim.SGD(
        params, lr=0.1, momentum=0.9, weight_decay=0.01
    ),
    "rmsprop": lambda params: nn.optim.RMSprop(params, lr=1e-3),
    "adam": lambda params: nn.optim.Adam(params, lr=1e-3),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_both_implementations_take_bit_identical_optimizer_steps(name, dtype):
    # 40 steps: Adam's bias correction changes at every one, and step 32 flushes subnormals
    pytest.importorskip("numba", reason="the compiled rules need the numba extra")
    optimizers, params = [], []
    for rules in (NumpyRules(), update_rules.compiled()):
        p = nn.Parameter(arrays(1, dtype)[0].reshape(40, 50))
        opt = OPTIMIZERS[name]([p])
        opt.rules = rules
        optimizers.append(opt)
        params.append(p)
    gradients = arrays(40, dtype)
    gradients[5:] = [g * (g > 1e-3) for g in gradients[5:]]  # where they stop, v decays

    for g in gradients:
        for p, opt in zip(params, optimizers):
            p.grad = ag.Tensor(g.reshape(40, 50))
            opt.step()

    np.testing.assert_array_equal(params[0].data, params[1].data)
    numpy_state, compiled_state = (opt.state[0] for opt in optimizers)
    assert numpy_state.keys() == compiled_state.keys()
    for key in numpy_state:
        np.testing.assert_array_equal(numpy_state[key], compiled_state[key])


# ----- which implementation an optimizer runs -----


def stepped_optimizer(dtype=np.float32) -> nn.optim.Optimizer:
    p = nn.Parameter(np.ones(3, dtype))
    opt = nn.optim.RMSprop([p])
    p.grad = ag.Tensor(np.ones(3, dtype))
    opt.step()
    return opt


def test_the_compiled_rules_run_where_numba_is_installed(monkeypatch):
    pytest.importorskip("numba", reason="the compiled rules need the numba extra")
    monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)

    assert stepped_optimizer().rules is update_rules.compiled()


def test_autograd_numba_0_runs_the_numpy_rules(monkeypatch):
    monkeypatch.setenv("AUTOGRAD_NUMBA", "0")

    assert isinstance(stepped_optimizer().rules, NumpyRules)


def test_without_numba_the_numpy_rules_run_silently(monkeypatch):
    def numba_missing():
        raise ModuleNotFoundError("No module named 'numba'", name="numba")

    monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)
    monkeypatch.setattr(update_rules, "compiled", numba_missing)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(stepped_optimizer().rules, NumpyRules)


def test_a_numba_that_does_not_import_falls_back_to_the_numpy_rules_with_a_warning(
    monkeypatch,
):
    def numba_broken():
        raise ImportError("Numba needs NumPy 2.3 or less. Got NumPy 2.9.")

    monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)
    monkeypatch.setattr(update_rules, "compiled", numba_broken)

    with pytest.warns(UserWarning, match="numba does not import .*Numba needs NumPy 2.3"):
        opt = stepped_optimizer()
    assert isinstance(opt.rules, NumpyRules)
