"""The MNIST models in ONNX, and `python -m mnist.export` (mnist/export.py)."""

import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
import nn
from mnist import export, model, train

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5  # float32: ONNX Runtime's logits equal the engine's within this


def engine(net, x):
    net.eval()
    with ag.no_grad():
        out = net(ag.Tensor(x)).data
    net.train()
    return out


@pytest.mark.parametrize(
    "name, net", [("mlp", model.mlp(64, np.random.default_rng(0))), ("cnn", model.cnn())]
)
def test_the_mnist_models_run_in_onnx_runtime_as_in_the_engine(name, net, tmp_path):
    rng = np.random.default_rng(1)
    images = lambda n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)  # noqa: E731
    path = tmp_path / f"{name}.onnx"
    net.train()  # the CNN's dropout is exported as in eval mode: not at all

    nn.onnx.export(net, model.model_input(name, images(3)), path)

    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (1, 7, 64):
        x = model.model_input(name, images(n))
        (logits,) = session.run(None, {"input": x})
        np.testing.assert_allclose(logits, engine(net, x), rtol=0, atol=TOLERANCE)
    assert net.training and all(m.training for _, m in net.named_modules())


def checkpoint(folder: Path, path: Path, *options: str) -> Path:
    """Train for one short epoch on the MNIST files in `folder` and save to `path`."""
    argv = ["--data-dir", str(folder), "--epochs", "1", "--save", str(path), *options]
    train.run(train.parse_args(argv))
    return path


@pytest.fixture(scope="module")
def tiny_checkpoints(tiny_mnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    return {
        "mlp": checkpoint(tiny_mnist, folder / "mlp.npz", "--hidden", "16"),
        "cnn": checkpoint(tiny_mnist, folder / "cnn.npz", "--model", "cnn", "--limit", "64"),
    }


def run_export(capsys, *argv) -> tuple[int, str, list[str]]:
    """Exit status, stdout and the lines of stderr of `python -m mnist.export argv`."""
    try:
        status = export.main([str(a) for a in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err.splitlines()


def verified(out: str) -> tuple[float, float, float]:
    """(engine accuracy, runtime accuracy, largest difference) as --verify prints them."""
    lines = {line.rsplit(" ", 1)[0].strip(): line.rsplit(" ", 1)[1] for line in out.splitlines()}
    return (
        float(lines["engine accuracy"].rstrip("%")),
        float(lines["onnxruntime accuracy"].rstrip("%")),
        float(lines["largest logit difference"]),
    )


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_a_checkpoint_exports_as_it_was_trained_and_verifies(
    name, tiny_checkpoints, tiny_mnist, tmp_path, capsys
):
    path = tmp_path / f"{name}.onnx"
    status, out, err = run_export(
        capsys, "--checkpoint", tiny_checkpoints[name], "--out", path, "--verify",
        "--data-dir", tiny_mnist,
    )  # fmt: skip

    assert status == 0, err
    engine_accuracy, runtime_accuracy, largest = verified(out)
    assert engine_accuracy == runtime_accuracy
    assert largest <= TOLERANCE
    onnx.checker.check_model(onnx.load(path), full_check=True)
    trained = train.trained_model(train.read_checkpoint(str(tiny_checkpoints[name])), "ckpt")
    initializers = {i.name: i for i in onnx.load(path).graph.initializer}
    for key, value in trained.state_dict().items():  # the trained weights, by their names
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(initializers[key]), value)


def test_a_real_checkpoint_verifies_on_the_real_test_set(real_mnist, tmp_path, capsys):
    ckpt = checkpoint(real_mnist, tmp_path / "mlp.npz", "--limit", "2000", "--hidden", "32")
    capsys.readouterr()

    status, out, err = run_export(
        capsys, "--checkpoint", ckpt, "--out", tmp_path / "mlp.onnx", "--verify",
        "--data-dir", real_mnist,
    )  # fmt: skip

    assert status == 0, err
    engine_accuracy, runtime_accuracy, largest = verified(out)
    assert engine_accuracy == runtime_accuracy > 50
    assert largest <= TOLERANCE


def one_error_line(err: list[str]) -> str:
    assert len(err) == 1, err
    assert err[0].startswith("python -m mnist.export: error: ")
    return err[0]


def test_a_missing_checkpoint_is_one_error_line(tmp_path, capsys):
    status, _, err = run_export(
        capsys, "--checkpoint", tmp_path / "none.npz", "--out", tmp_path / "m.onnx"
    )
    assert status == 2
    assert "--checkpoint" in one_error_line(err) and "no such file" in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", ["text", "state_dict"])
def test_a_file_that_is_no_checkpoint_is_one_error_line(content, tmp_path, capsys):
    path = tmp_path / "model.npz"
    if content == "text":
        path.write_text("hello")
    else:
        nn.save(model.mlp(8).state_dict(), path)

    status, _, err = run_export(capsys, "--checkpoint", path, "--out", tmp_path / "m.onnx")

    assert status == 2
    assert str(path) in one_error_line(err)
    assert not (tmp_path / "m.onnx").exists()


def test_an_output_path_that_is_a_folder_is_one_error_line(tiny_checkpoints, tmp_path, capsys):
    status, _, err = run_export(capsys, "--checkpoint", tiny_checkpoints["mlp"], "--out", tmp_path)
    assert status == 2
    assert "is a folder" in one_error_line(err)


def test_an_opset_the_exporter_cannot_write_is_one_error_line(tiny_checkpoints, tmp_path, capsys):
    status, _, err = run_export(
        capsys, "--checkpoint", tiny_checkpoints["mlp"], "--out", tmp_path / "m.onnx",
        "--opset", "7",
    )  # fmt: skip
    assert status == 2
    assert "--opset" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_requested_opset_is_written(tiny_checkpoints, tmp_path, capsys):
    path = tmp_path / "m.onnx"
    status, _, _ = run_export(
        capsys, "--checkpoint", tiny_checkpoints["mlp"], "--out", path, "--opset", "18"
    )
    assert status == 0
    assert onnx.load(path).opset_import[0].version == 18


@pytest.mark.parametrize(
    "missing, verify, says",
    [
        ("onnx", False, "onnx is not installed: pip install 'autograd-numpy[onnx]'"),
        ("onnxruntime", True, "onnxruntime is not installed: pip install onnxruntime"),
    ],
)
def test_a_missing_library_is_one_error_line_naming_what_to_install(
    missing, verify, says, tiny_checkpoints, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed
    argv = ["--checkpoint", tiny_checkpoints["mlp"], "--out", tmp_path / "m.onnx"]

    status, _, err = run_export(capsys, *argv, *(["--verify"] if verify else []))

    assert status == 2
    assert says in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_data_dir_that_does_not_exist_is_one_error_line(tiny_checkpoints, tmp_path, capsys):
    status, _, err = run_export(
        capsys, "--checkpoint", tiny_checkpoints["mlp"], "--out", tmp_path / "m.onnx",
        "--verify", "--data-dir", tmp_path / "mnsit",
    )  # fmt: skip
    assert status == 2
    assert "argument --data-dir: no such folder" in one_error_line(err)
    assert not (tmp_path / "mnsit").exists()


def test_a_damaged_checkpoint_is_one_error_line(tiny_checkpoints, tmp_path, capsys):
    state = nn.load(tiny_checkpoints["mlp"])
    del state["model"]["2.bias"]
    damaged = tmp_path / "damaged.npz"
    nn.save(state, damaged)

    status, _, err = run_export(capsys, "--checkpoint", damaged, "--out", tmp_path / "m.onnx")

    assert status == 2
    assert "damaged checkpoint" in one_error_line(err)
    assert not (tmp_path / "m.onnx").exists()
