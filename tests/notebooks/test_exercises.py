"""The notebooks' exercises: every solution in notebooks/solutions.py passes the check the
notebook calls (notebooks/exercises.py), and a stub or a wrong answer does not."""

from __future__ import annotations

import numpy as np
import pytest

from notebooks import exercises as ex
from notebooks import solutions as sol

ANSWERS = {
    "0.1 tanh for Value": (ex.check_value_tanh, (sol.Value, sol.tanh)),
    "0.2 topological sort": (ex.check_topological_order, (sol.Value, sol.topological_order)),
    "1.1 several uses": (ex.check_several_uses, (sol.several_uses,)),
    "1.2 bias gradient": (ex.check_bias_gradient, (sol.bias_gradient,)),
    "2.1 tanh layer": (ex.check_tanh_layer_gradients, (sol.tanh_layer_gradients,)),
    "2.2 mean squared error": (ex.check_mse_gradient, (sol.mse_gradient,)),
    "3.1 broken Mul": (ex.check_broken_mul, (sol.broken_mul(),)),
    "3.2 forward step": (ex.check_best_forward_step, (sol.BEST_FORWARD_STEP,)),
    "4.1 momentum": (ex.check_momentum_step, (sol.momentum_step,)),
    "4.2 Adam": (ex.check_adam_step, (sol.adam_step,)),
    "4.3 effective rate": (ex.check_effective_rate, (sol.EFFECTIVE_RATE,)),
    "5.1 stride-2 input gradient": (ex.check_stride2_input_gradient, (sol.stride2_input_gradient,)),
    "5.2 average pooling": (ex.check_avg_pool_gradient, (sol.avg_pool_gradient,)),
    "6.1 Hessian": (ex.check_hessian, (sol.hessian_by_hand,)),
    "6.2 tanh jvp": (ex.check_tanh_jvp, (sol.tanh_jvp_by_hand,)),
}


@pytest.mark.parametrize("name", ANSWERS)
def test_the_solution_passes_the_notebooks_check(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check, answer = ANSWERS[name]
    check(*answer)
    assert capsys.readouterr().out.endswith(": correct\n")


def test_a_stub_is_reported_as_not_attempted(capsys: pytest.CaptureFixture[str]) -> None:
    def stub(x):
        raise NotImplementedError

    ex.check_bias_gradient(stub)
    ex.check_broken_mul(None)
    assert capsys.readouterr().out.count("not attempted yet") == 2


def test_a_wrong_answer_fails_with_a_hint() -> None:
    with pytest.raises(AssertionError, match="the gradient of b"):
        ex.check_bias_gradient(lambda x: x.mean(axis=0))
    with pytest.raises(AssertionError, match="passes gradcheck"):
        ex.check_broken_mul(ex.MulA)


def test_every_check_is_answered() -> None:
    checks = {name for name in dir(ex) if name.startswith("check_")}
    assert checks == {check.__name__ for check, _ in ANSWERS.values()}
    assert np.isclose(sol.EFFECTIVE_RATE, 0.1)
