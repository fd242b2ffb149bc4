import pytest

from mnist import analytic, gradcheck


def check(folder, capsys) -> tuple[int, str, str]:
    status = gradcheck.main(["--data-dir", str(folder), "--batch-size", "16", "--hidden", "24"])
    out, err = capsys.readouterr()
    return status, out, err


def test_all_three_gradients_agree(tiny_mnist, capsys):
    status, out, _ = check(tiny_mnist, capsys)
    assert status == 0
    assert "all gradients agree" in out


def test_prints_a_row_per_parameter_with_its_shape(tiny_mnist, capsys):
    _, out, _ = check(tiny_mnist, capsys)
    for name, shape in [("0.weight", "(24, 784)"), ("0.bias", "(24,)"), ("2.weight", "(10, 24)")]:
        assert any(line.startswith(name) and shape in line for line in out.splitlines())


@pytest.mark.parametrize("name", ["0.weight", "2.bias"])
def test_a_broken_analytic_gradient_fails_naming_the_parameter(
    tiny_mnist, capsys, monkeypatch, name
):
    correct = analytic.loss_and_grads

    def broken(params, x, y):
        loss, grads = correct(params, x, y)
        grads[name] = grads[name] * 1.001
        return loss, grads

    monkeypatch.setattr(analytic, "loss_and_grads", broken)
    status, _, err = check(tiny_mnist, capsys)
    assert status == 1
    assert f"{name}: autograd vs analytic" in err


def test_the_cnn_gradients_agree_too(tiny_mnist, capsys):
    status = gradcheck.main(
        ["--model", "cnn", "--data-dir", str(tiny_mnist), "--batch-size", "4", "--samples", "3"]
    )
    out, _ = capsys.readouterr()
    assert status == 0, out
    for name, shape in [
        ("0.weight", "(32, 1, 3, 3)"),
        ("3.weight", "(64, 32, 3, 3)"),
        ("11.bias", "(10,)"),
    ]:
        assert any(line.startswith(name) and shape in line for line in out.splitlines())


def test_a_broken_cnn_gradient_fails_naming_the_parameter(tiny_mnist, capsys, monkeypatch):
    correct = analytic.cnn_loss_and_grads

    def broken(params, x, y):
        loss, grads = correct(params, x, y)
        grads["3.weight"] = grads["3.weight"] * 1.001
        return loss, grads

    monkeypatch.setattr(analytic, "cnn_loss_and_grads", broken)
    status = gradcheck.main(
        ["--model", "cnn", "--data-dir", str(tiny_mnist), "--batch-size", "4", "--samples", "3"]
    )
    assert status == 1
    assert "3.weight: autograd vs analytic" in capsys.readouterr().err
