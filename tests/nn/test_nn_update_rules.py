import numpy as np
import pytest

from nn import update_rules


def arrays(n: int, count: int, dtype) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.abs(rng.standard_normal(n)).astype(dtype) for _ in range(count)]


def call(rule: str, operands: list[np.ndarray], f) -> None:
    if rule == "sgd":
        update_rules.sgd(*operands, f(0.1), f(0.9), f(0.01), False)
    elif rule == "rmsprop":
        update_rules.rmsprop(*operands, f(1e-3), f(0.9), f(1 - 0.9), f(1e-7), f(0))
    else:
        update_rules.adam(*operands, f(1e-3), f(0.1), f(0.999), f(1 - 0.999), f(0.5), f(1e-8), f(0))


RULES = {"sgd": 3, "rmsprop": 3, "adam": 4}  # how many arrays each rule takes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rule", RULES)
def test_a_compiled_rule_computes_what_its_python_computes(rule, dtype, monkeypatch):
    compiled = arrays(10_000, RULES[rule], dtype)
    interpreted = [a.copy() for a in compiled]

    call(rule, compiled, dtype)
    monkeypatch.setattr(update_rules, rule, getattr(update_rules, rule).py_func)
    call(rule, interpreted, dtype)

    for a, b in zip(compiled, interpreted):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
