"""The three mnist commands check the options they share alike: one line, before any work."""

import pytest

from mnist import data, gradcheck, graph, train

COMMANDS = {
    "train": (train.main, []),
    "gradcheck": (gradcheck.main, []),
    "graph": (graph.main, ["--out", "g.dot"]),
}


def status(command: str, *argv: str) -> int:
    main, required = COMMANDS[command]
    try:
        return main([*required, *argv])
    except SystemExit as stop:  # argparse's
        return stop.code


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_data_dir_that_does_not_exist_is_refused_not_created(tmp_path, capsys, command):
    assert status(command, "--data-dir", str(tmp_path / "mnsit")) == 2
    assert f"python -m mnist.{command}: error: argument --data-dir: no such folder" in (
        one_line(capsys)
    )
    assert not (tmp_path / "mnsit").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_data_dir_that_is_a_file_is_refused(tmp_path, capsys, command):
    (tmp_path / "mnist.gz").write_bytes(b"")
    assert status(command, "--data-dir", str(tmp_path / "mnist.gz")) == 2
    assert "argument --data-dir: is a file, not a folder" in one_line(capsys)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_batch_size_is_refused(capsys, command):
    assert status(command, "--batch-size", "0") == 2
    assert "argument --batch-size: must be a positive integer, got 0" in one_line(capsys)


@pytest.mark.parametrize("command", ["train", "gradcheck"])
def test_a_negative_seed_is_refused(capsys, command):
    assert status(command, "--seed", "-1") == 2
    assert "argument --seed: must be an integer from 0 to 2**63 - 1" in one_line(capsys)


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-0.5"])
def test_gradcheck_refuses_an_eps_that_is_not_a_finite_positive_number(capsys, value):
    assert status("gradcheck", "--eps", value) == 2
    assert f"argument --eps: must be a finite number above 0, got {value}" in one_line(capsys)


def test_gradcheck_refuses_bad_labels_in_one_line(tiny_mnist, tmp_path, capsys):
    for path in tiny_mnist.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    labels = data.read_idx(tmp_path / data.FILES["train"][1])
    labels[3] = 200
    data.write_idx(tmp_path / data.FILES["train"][1], labels)

    assert status("gradcheck", "--data-dir", str(tmp_path)) == 1
    assert "label 200 at index 3 is not a digit 0-9" in one_line(capsys)


def test_gradcheck_says_in_one_line_that_mnist_data_does_not_exist(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "mnsit"))
    assert status("gradcheck") == 1
    assert "given by $MNIST_DATA, does not exist" in one_line(capsys)


def test_graph_refuses_an_out_that_is_a_folder(tmp_path, capsys):
    (tmp_path / "g.svg").mkdir()
    assert status("graph", "--out", str(tmp_path / "g.svg")) == 2
    assert f"--out {tmp_path / 'g.svg'}: is a folder" in one_line(capsys)
