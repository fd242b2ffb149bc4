import numpy as np
import pytest

import autograd as ag
import nn
from nn.optim import FLUSH_EVERY, SGD, Adam, RMSprop

STEPS = 5


@pytest.fixture(autouse=True, params=["numpy", "compiled"])
def update_rules(request, monkeypatch):
    """Every test here runs on both implementations of the update rules."""
    if request.param == "compiled":
        pytest.importorskip("numba", reason="the compiled rules need the numba extra")
        monkeypatch.delenv("AUTOGRAD_NUMBA", raising=False)
    else:
        monkeypatch.setenv("AUTOGRAD_NUMBA", "0")
    return request.param


def gradients(step: int, shape=(3, 2), dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(100 + step).standard_normal(shape).astype(dtype)


def start(dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, 2)).astype(dtype)


def run(make, steps: int = STEPS, dtype=np.float64):
    """Parameters after `steps` steps of the optimizer `make(params)` on fixed gradients."""
    p = nn.Parameter(start(dtype))
    opt = make([p])
    for step in range(steps):
        p.grad = ag.Tensor(gradients(step, dtype=dtype))
        opt.step()
    return p, opt


# ----- the update rules, written out -----


def sgd_reference(lr, momentum=0.0, weight_decay=0.0):
    p, buf = start(), None
    for step in range(STEPS):
        g = gradients(step) + weight_decay * p
        if momentum:
            buf = g if buf is None else momentum * buf + g
            g = buf
        p = p - lr * g
    return p


def rmsprop_reference(lr, alpha, eps):
    p, v = start(), 0.0
    for step in range(STEPS):
        g = gradients(step)
        v = alpha * v + (1 - alpha) * g**2
        p = p - lr * g / (np.sqrt(v) + eps)
    return p


def adam_reference(lr, beta1, beta2, eps):
    p, m, v = start(), 0.0, 0.0
    for t in range(1, STEPS + 1):
        g = gradients(t - 1)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize(
    "options",
    [{"lr": 0.1}, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}],
    ids=str,
)
def test_sgd_follows_its_update_rule(options):
    p, _ = run(lambda params: SGD(params, **options))

    np.testing.assert_allclose(p.data, sgd_reference(**options), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("options", [{}, {"lr": 0.1, "alpha": 0.9, "eps": 1e-3}], ids=str)
def test_rmsprop_follows_its_update_rule_with_eps_after_the_root(options):
    p, _ = run(lambda params: RMSprop(params, **options))

    expected = rmsprop_reference(**{"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, **options})
    np.testing.assert_allclose(p.data, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("options", [{}, {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-2}], ids=str)
def test_adam_follows_its_update_rule_with_bias_correction(options):
    p, _ = run(lambda params: Adam(params, **options))

    settings = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, **options}
    expected = adam_reference(settings["lr"], *settings["betas"], settings["eps"])
    np.testing.assert_allclose(p.data, expected, rtol=1e-13, atol=1e-15)


OPTIMIZERS = {
    "sgd": lambda params: SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01),
    "rmsprop": lambda params: RMSprop(params, lr=0.01),
    "adam": lambda params: Adam(params, lr=0.01),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_parameters_keep_float32_values_and_state(name):
    p, opt = run(OPTIMIZERS[name], dtype=np.float32)

    assert p.dtype == np.float32
    buffers = [v for v in opt.state[0].values() if isinstance(v, np.ndarray)]
    assert buffers and all(b.dtype == np.float32 for b in buffers)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_steps_are_computed_in_float32(name):
    # the same steps done with float64 arithmetic would round differently
    p32, _ = run(OPTIMIZERS[name], dtype=np.float32)
    p64, _ = run(OPTIMIZERS[name])

    np.testing.assert_allclose(p32.data, p64.data, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(p32.data, p64.data.astype(np.float32))


def test_float32_rmsprop_rounds_as_its_formula_in_float32_operations():
    # every operation in float32, one rounding each, in PyTorch's order
    f = np.float32
    p = nn.Parameter(np.random.default_rng(0).standard_normal(1000).astype(f))
    expected, v = p.data.copy(), np.zeros(1000, f)
    opt = RMSprop([p], lr=1e-3, alpha=0.9, eps=1e-7)

    for step in range(10):
        g = gradients(step, shape=1000, dtype=f) * f(1e-2)
        p.grad = ag.Tensor(g)
        opt.step()
        v = f(0.9) * v + f(1 - 0.9) * (g * g)
        expected = expected - f(1e-3) * (g / (np.sqrt(v) + f(1e-7)))

    np.testing.assert_array_equal(p.data, expected)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_updates_in_place_and_never_writes_to_the_gradient(name):
    p = nn.Parameter(start(np.float32))
    array = p.data
    grad = gradients(0, dtype=np.float32)
    grad.flags.writeable = False  # the engine may share one gradient array between tensors
    opt = OPTIMIZERS[name]([p])

    for _ in range(3):
        p.grad = ag.Tensor(grad)
        opt.step()

    assert p.data is array
    assert not np.array_equal(p.data, start(np.float32))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_parameter_in_fortran_order_is_updated_in_place_as_a_c_ordered_one(name):
    fortran, c_ordered = nn.Parameter(start().T), nn.Parameter(start().T.copy())
    array = fortran.data
    opt_f, opt_c = OPTIMIZERS[name]([fortran]), OPTIMIZERS[name]([c_ordered])

    for step in range(3):
        g = gradients(step).T  # a transposed view, not C-ordered either
        fortran.grad, c_ordered.grad = ag.Tensor(g), ag.Tensor(g.copy())
        opt_f.step()
        opt_c.step()

    assert fortran.data is array
    np.testing.assert_array_equal(fortran.data, c_ordered.data)


def test_a_broadcast_gradient_updates_every_element():
    p = nn.Parameter(np.zeros((3, 2)))
    opt = SGD([p], lr=1.0)
    p.grad = ag.Tensor(np.broadcast_to(np.array([1.0, 2.0]), (3, 2)))

    opt.step()

    np.testing.assert_array_equal(p.data, [[-1.0, -2.0]] * 3)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_zero_dimensional_parameter_is_updated(name):
    p = nn.Parameter(np.array(1.0))
    opt = OPTIMIZERS[name]([p])
    p.grad = ag.Tensor(np.array(0.5))

    opt.step()

    assert p.shape == () and p.data < 1.0


def test_a_float16_parameter_is_refused_naming_its_dtype():
    p = nn.Parameter(np.zeros(2, np.float16))
    opt = Adam([p])
    p.grad = ag.Tensor(np.ones(2, np.float16))

    with pytest.raises(TypeError, match="Adam: parameter 0 must be a writeable float32 or float64"):
        opt.step()


def test_a_read_only_parameter_is_refused():
    p = nn.Parameter(np.zeros(2))
    p.data.flags.writeable = False
    opt = SGD([p], lr=0.1)
    p.grad = ag.Tensor(np.ones(2))

    with pytest.raises(TypeError, match="it is a read-only float64 array"):
        opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_parameters_without_a_gradient_are_skipped(name):
    a, b = nn.Parameter(start()), nn.Parameter(start())
    opt = OPTIMIZERS[name]([a, b])
    a.grad = ag.Tensor(gradients(0))

    opt.step()

    np.testing.assert_array_equal(b.data, start())
    assert opt.state[1] == {"step": 0}
    assert opt.state[0]["step"] == 1


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_grad_clears_the_gradients(name):
    p, opt = run(OPTIMIZERS[name], steps=1)

    opt.zero_grad()

    assert p.grad is None


def test_changing_the_learning_rate_takes_effect_at_the_next_step():
    p = nn.Parameter(np.zeros(2))
    opt = SGD([p], lr=1.0)
    opt.lr = np.float64(0.5)  # a NumPy scalar rate must not change the arithmetic's dtype
    p.grad = ag.Tensor(np.ones(2))

    opt.step()

    np.testing.assert_array_equal(p.data, [-0.5, -0.5])


def test_an_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="SGD: got an empty list of parameters"):
        SGD(iter([]), lr=0.1)


def test_parameters_are_materialised_from_a_generator():
    model = nn.Linear(3, 2)

    opt = Adam(model.parameters())

    assert len(opt.params) == 2


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: SGD(p, lr=-1), "SGD: lr must be >= 0, got -1"),
        (lambda p: RMSprop(p, eps=-1e-8), "RMSprop: eps must be >= 0"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), r"Adam: betas must lie in \[0, 1\)"),
        (lambda p: SGD(p + p, lr=0.1), "a parameter appears more than once"),
    ],
)
def test_bad_settings_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.zeros(2))])


def test_tensors_that_do_not_require_grad_are_refused():
    with pytest.raises(TypeError, match="parameter 0 is not a Tensor that requires grad"):
        Adam([ag.Tensor(np.zeros(2))])


# ----- resuming -----


def train(model, opt, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = ag.Tensor(rng.standard_normal((8, 4)).astype(np.float32))
        y = rng.integers(0, 3, 8)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def model_and_optimizer(name: str):
    model = nn.Sequential(nn.Linear(4, 5, rng=np.random.default_rng(0)), nn.ReLU(), nn.Linear(5, 3))
    return model, OPTIMIZERS[name](model.parameters())


@pytest.mark.parametrize("through_file", [False, True], ids=["in_memory", "through_npz"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_resumed_optimizer_takes_bit_identical_steps(name, through_file, tmp_path):
    model, opt = model_and_optimizer(name)
    train(model, opt, steps=3, seed=1)
    checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict()}
    if through_file:
        nn.save(checkpoint, tmp_path / "checkpoint.npz")
        checkpoint = nn.load(tmp_path / "checkpoint.npz")
    train(model, opt, steps=3, seed=2)

    resumed_model, resumed_opt = model_and_optimizer(name)
    resumed_model.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    train(resumed_model, resumed_opt, steps=3, seed=2)

    for a, b in zip(model.parameters(), resumed_model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_holds_hyperparameters_steps_and_copies_of_buffers():
    p, opt = run(lambda params: Adam(params, lr=0.01, betas=(0.8, 0.9)), steps=2)

    state = opt.state_dict()
    state["state"]["0"]["exp_avg"][...] = 0

    assert state["hyperparameters"] == {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-8}
    assert state["state"]["0"]["step"] == 2
    assert set(state["state"]["0"]) == {"step", "exp_avg", "exp_avg_sq"}
    assert opt.state[0]["exp_avg"].any()


def test_loading_restores_hyperparameters():
    _, saved = run(lambda params: RMSprop(params, lr=0.5, alpha=0.7), steps=1)
    p = nn.Parameter(start())
    opt = RMSprop([p])

    opt.load_state_dict(saved.state_dict())

    assert (opt.lr, opt.alpha, opt.eps) == (0.5, 0.7, 1e-8)


def test_loading_a_state_that_does_not_fit_lists_the_problems_and_changes_nothing():
    _, saved = run(lambda params: Adam(params), steps=1)
    state = saved.state_dict()
    state["state"]["0"]["exp_avg"] = np.zeros((2, 3))
    state["state"]["0"]["momentum_buffer"] = np.zeros((3, 2))
    opt = Adam([nn.Parameter(start())], lr=0.5)

    with pytest.raises(ValueError) as error:
        opt.load_state_dict(state)

    assert "buffer 'exp_avg' of parameter 0 has shape (2, 3), expected (3, 2)" in str(error.value)
    assert "unknown buffer 'momentum_buffer' for parameter 0" in str(error.value)
    assert opt.lr == 0.5 and opt.state == [{"step": 0}]


def test_loading_a_state_for_another_number_of_parameters_is_refused():
    _, saved = run(lambda params: SGD(params, lr=0.1), steps=1)
    opt = SGD([nn.Parameter(start()), nn.Parameter(start())], lr=0.1)

    with pytest.raises(ValueError, match=r"state for parameters \['0'\], expected 0..1"):
        opt.load_state_dict(saved.state_dict())


# ----- against PyTorch -----

TORCH = {
    "sgd": ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    "rmsprop": ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-7}),
    "rmsprop-defaults": ("RMSprop", {}),
    "adam": ("Adam", {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8}),
}


@pytest.mark.parametrize("name", TORCH)
def test_float32_steps_match_torch_optim(name):
    torch = pytest.importorskip("torch")
    class_name, options = TORCH[name]
    ours = nn.Parameter(start(np.float32))
    theirs = torch.nn.Parameter(torch.tensor(start(np.float32)))
    opt = getattr(nn.optim, class_name)([ours], **options)
    reference = getattr(torch.optim, class_name)([theirs], **options)

    for step in range(20):
        g = gradients(step, dtype=np.float32)
        ours.grad, theirs.grad = ag.Tensor(g), torch.tensor(g)
        opt.step()
        reference.step()

    # the same float32 operations, up to the order of roundings (and FMA) inside torch's kernels
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name, buffer", [("RMSprop", "square_avg"), ("Adam", "exp_avg_sq")])
def test_subnormals_are_flushed_from_the_running_average_of_squares_every_32_steps(name, buffer):
    # g² = 1e-40 is subnormal in float32: √ of it is slow, and next to eps it is 0
    p = ag.Tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = ag.Tensor(np.array([1e-20, 0.5, 0.0], np.float32))
    opt = getattr(nn.optim, name)([p])
    for _ in range(FLUSH_EVERY - 1):
        opt.step()
    assert opt.state[0][buffer][0] > 0

    opt.step()

    v = opt.state[0][buffer]
    assert FLUSH_EVERY == 32 and v[0] == 0 and v[1] > 0


def test_flushing_subnormals_changes_no_update():
    g = np.array([1e-20, 3e-21, 0.5], np.float32)
    p = ag.Tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = ag.Tensor(g)
    opt = RMSprop([p], lr=1e-3, alpha=0.9, eps=1e-7)
    expected, v = np.ones(3, np.float32), np.zeros(3, np.float32)
    for _ in range(64):
        opt.step()
        v = np.float32(0.9) * v + np.float32(0.1) * g * g
        expected = expected - np.float32(1e-3) * g / (np.sqrt(v) + np.float32(1e-7))
    np.testing.assert_array_equal(p.data, expected)


def test_without_eps_subnormal_averages_are_kept():
    # with eps = 0, √v of a subnormal v sets the step size, so v must not become 0
    g = np.array([1e-20], np.float32)  # g² = 1e-40 is subnormal
    p = ag.Tensor(np.ones(1, np.float32), requires_grad=True)
    p.grad = ag.Tensor(g)
    opt = RMSprop([p], lr=1e-3, alpha=0.9, eps=0.0)

    opt.step()

    v = np.float32(0.1) * (g * g)
    assert opt.state[0]["square_avg"][0] == v[0] > 0
    np.testing.assert_array_equal(p.data, np.float32(1) - np.float32(1e-3) * (g / np.sqrt(v)))
