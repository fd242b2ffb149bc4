"""python -m mnist.train on bad input: one line that says what is wrong, before training."""

import gzip
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import nn
from mnist import data, train
from mnist.model import mlp

CLOSED = "http://127.0.0.1:1/"
PROG = "python -m mnist.train: error: "


def main(*argv: str) -> int:
    """The exit status of `python -m mnist.train ARGV`."""
    try:
        return train.main(list(argv))
    except SystemExit as stop:  # argparse's
        return stop.code


def one_line(capsys) -> str:
    """All the command wrote to stderr, which must be a single "error:" line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(PROG), err
    return err


def copy_of(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "data")


def trained(tiny_mnist, path, *options: str) -> None:
    """A checkpoint of one epoch at `path`."""
    assert main("--data-dir", str(tiny_mnist), "--hidden", "8", "--epochs", "1",
                "--save", str(path), *options) == 0  # fmt: skip


# ----- the data -----


def test_a_failed_download_is_one_line_saying_how_to_use_local_files(
    tmp_path, monkeypatch, capsys, server
):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setattr(data, "default_data_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(data, "MIRRORS", (CLOSED, server.url))  # refused, then 404

    assert main() == 1

    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("Downloading train-images-idx3-ubyte.gz into")
    assert len(lines) == 2 and lines[1].startswith(f"{PROG}could not download")
    assert "Connection refused" in lines[1] and "HTTP 404" in lines[1]
    assert "--data-dir DIR or set $MNIST_DATA" in lines[1]


def test_a_data_dir_lacking_files_is_one_line_naming_them(
    tiny_mnist, tmp_path, monkeypatch, capsys, server
):
    folder = copy_of(tiny_mnist, tmp_path)
    test_files = data.FILES["test"]
    for name in test_files:  # the server has none: the download fails
        (folder / name).unlink()
    monkeypatch.setattr(data, "MIRRORS", (server.url,))

    assert main("--data-dir", str(folder), "--hidden", "8", "--epochs", "1") == 1

    downloading, error = capsys.readouterr().err.splitlines()
    lacks = f"{folder}, given by --data-dir (data_dir), lacks {', '.join(test_files)} (2 of"
    assert downloading.startswith("Downloading") and error.startswith(f"{PROG}could not")
    assert lacks in error and "HTTP 404" in error and "pass --data-dir" not in error


def test_a_data_dir_that_does_not_exist_is_refused_not_created(tmp_path, capsys):
    assert main("--data-dir", str(tmp_path / "mnsit")) == 2
    assert "argument --data-dir: no such folder" in one_line(capsys)
    assert not (tmp_path / "mnsit").exists()


def test_an_mnist_data_folder_that_does_not_exist_is_refused_not_created(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "mnsit"))
    assert main() == 1
    assert "given by $MNIST_DATA, does not exist" in one_line(capsys)
    assert not (tmp_path / "mnsit").exists()


def test_uncompressed_files_train_too(tiny_mnist, tmp_path):
    folder = tmp_path / "gunzipped"
    folder.mkdir()
    for path in tiny_mnist.iterdir():
        (folder / path.stem).write_bytes(gzip.decompress(path.read_bytes()))
    assert main("--data-dir", str(folder), "--hidden", "8", "--epochs", "1") == 0


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_label_that_is_not_a_digit_is_refused_at_loading(tiny_mnist, tmp_path, capsys, split):
    folder = copy_of(tiny_mnist, tmp_path)
    labels_path = folder / data.FILES[split][1]
    labels = data.read_idx(labels_path)
    labels[42] = 10
    data.write_idx(labels_path, labels)

    assert main("--data-dir", str(folder)) == 1
    assert f"{labels_path}: label 10 at index 42 is not a digit 0-9" in one_line(capsys)


@pytest.mark.parametrize("split", ["train", "test"])
def test_an_empty_split_is_refused_at_loading(tiny_mnist, tmp_path, capsys, split):
    folder = copy_of(tiny_mnist, tmp_path)
    images_name, labels_name = data.FILES[split]
    data.write_idx(folder / images_name, np.zeros((0, 28, 28), np.uint8))
    data.write_idx(folder / labels_name, np.zeros(0, np.uint8))

    assert main("--data-dir", str(folder)) == 1
    assert f"holds no images, the {split} split is empty" in one_line(capsys)


# ----- numbers -----


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--seed", "-1", "must be an integer from 0 to 2**63 - 1, got -1"),
        ("--seed", str(2**63), f"must be an integer from 0 to 2**63 - 1, got {2**63}"),
        ("--seed", "1.5", "must be an integer, got '1.5'"),
        ("--lr", "nan", "must be a finite number above 0, got nan"),
        ("--lr", "inf", "must be a finite number above 0, got inf"),
        ("--lr", "-1", "must be a finite number above 0, got -1"),
        ("--lr", "0", "must be a finite number above 0, got 0"),
        ("--lr", "fast", "must be a number, got 'fast'"),
        ("--epochs", "0", "must be a positive integer, got 0"),
        ("--batch-size", "-128", "must be a positive integer, got -128"),
        ("--hidden", "many", "must be an integer, got 'many'"),
        ("--limit", "0", "must be a positive integer, got 0"),
        ("--shift", "5", "must be an integer from 0 to 4, got 5"),
        ("--shift", "-1", "must be an integer from 0 to 4, got -1"),
    ],
)
def test_a_number_out_of_range_is_refused_in_one_line(capsys, option, value, expected):
    assert main(option, value) == 2
    assert f"argument {option}: {expected} (see --help)" in one_line(capsys)


def test_hidden_with_the_cnn_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        train.parse_args(["--model", "cnn", "--hidden", "64"])

    assert stop.value.code == 2
    assert "argument --hidden: is the MLP's width; --model cnn has none" in one_line(capsys)


def test_a_model_too_large_for_memory_is_one_line(tiny_mnist, capsys):
    assert main("--data-dir", str(tiny_mnist), "--hidden", str(10**15)) == 1
    assert "out of memory" in one_line(capsys)


# ----- output paths -----


@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot"])
def test_an_output_that_is_a_folder_is_refused_before_training(tmp_path, capsys, option):
    folder = tmp_path / "out.png"
    folder.mkdir()
    assert main(option, str(folder)) == 2
    assert f"{option} {folder}: is a folder" in one_line(capsys)


def can_write_in(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process cannot write in: mode 555, or /sys where root ignores modes."""
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    if can_write_in(folder):
        folder = Path("/sys")
        if not folder.is_dir() or can_write_in(folder):
            pytest.skip("no folder here that this process cannot write in")
    yield folder
    (tmp_path / "read-only").chmod(0o755)


@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot"])
def test_an_output_in_a_read_only_folder_is_refused_before_training(
    tiny_mnist, read_only_folder, capsys, option
):
    path = read_only_folder / "out.png"
    assert main("--data-dir", str(tiny_mnist), "--hidden", "8", "--epochs", "1",
                option, str(path)) == 2  # fmt: skip
    assert f"{option} {path}: cannot write in the folder {read_only_folder}" in one_line(capsys)


@pytest.mark.parametrize(
    "first, second", [("--save", "--metrics"), ("--save", "--plot"), ("--metrics", "--plot")]
)
def test_two_outputs_naming_one_file_are_refused(tmp_path, capsys, first, second):
    path = str(tmp_path / "out.png")
    assert main(first, path, second, path) == 2
    assert f"{first} and {second} name the same file" in one_line(capsys)


@pytest.mark.parametrize("option", ["--metrics", "--plot"])
def test_an_output_over_the_resume_checkpoint_is_refused(tiny_mnist, tmp_path, capsys, option):
    checkpoint = tmp_path / "ck.png"
    trained(tiny_mnist, checkpoint)
    capsys.readouterr()
    assert main("--resume", str(checkpoint), option, str(checkpoint)) == 2
    assert f"--resume and {option} name the same file" in one_line(capsys)


def test_the_same_file_through_another_path_is_still_the_same(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main("--save", "out.json", "--metrics", str(tmp_path / "." / "out.json")) == 2
    assert "name the same file" in one_line(capsys)


# ----- the --resume checkpoint -----


def model_only(path) -> None:
    nn.save(mlp(8).state_dict(), path)


def without_progress(path) -> None:
    state = nn.load(path)
    del state["progress"]
    nn.save(state, path)


def with_a_misshapen_weight(path) -> None:
    state = nn.load(path)
    state["model"]["0.weight"] = state["model"]["0.weight"][:, :5]
    nn.save(state, path)


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda path: path.write_bytes(b""), "is empty (0 bytes), not an .npz archive"),
        (lambda path: path.write_bytes(b'{"epoch": 1}'), "is not an .npz archive"),
        (lambda path: path.write_bytes(path.read_bytes()[:-100]), "is a damaged .npz archive"),
        (model_only, "has no model, optimizer, progress, history, config (it holds only arrays"),
        (without_progress, "not a checkpoint of python -m mnist.train --save: it has no progress"),
        (with_a_misshapen_weight, "damaged checkpoint: Sequential.load_state_dict: the state"),
    ],
    ids=["empty", "json", "truncated", "model-only", "no-progress", "misshapen"],
)
def test_a_bad_checkpoint_is_one_line_naming_the_file(
    tiny_mnist, tmp_path, capsys, damage, expected
):
    checkpoint = tmp_path / "ck.npz"
    trained(tiny_mnist, checkpoint)
    damage(checkpoint)
    capsys.readouterr()

    resume = ("--data-dir", str(tiny_mnist), "--hidden", "8", "--epochs", "1", "--resume")
    assert main(*resume, str(checkpoint)) == 1

    line = one_line(capsys)
    assert str(checkpoint) in line and expected in line


def test_a_bad_checkpoint_is_refused_before_the_data_is_loaded(tmp_path, capsys, monkeypatch):
    (tmp_path / "ck.npz").write_bytes(b"")
    monkeypatch.setattr(data, "load", lambda *args: pytest.fail("loaded the data"))
    assert main("--resume", str(tmp_path / "ck.npz")) == 1


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_resume_path_that_is_no_file_is_refused_at_once(tmp_path, capsys, kind):
    path = tmp_path / "ck.npz"
    if kind == "folder":
        path.mkdir()
    assert main("--resume", str(path)) == 2
    assert f"--resume {path}: " + ("no such file" if kind == "missing" else "is a folder") in (
        one_line(capsys)
    )


def test_a_checkpoint_of_other_options_is_one_line(tiny_mnist, tmp_path, capsys):
    trained(tiny_mnist, tmp_path / "ck.npz")
    capsys.readouterr()
    assert main("--data-dir", str(tiny_mnist), "--hidden", "16",
                "--resume", str(tmp_path / "ck.npz")) == 1  # fmt: skip
    assert "saved by a run with --hidden 8, but this run has --hidden 16" in one_line(capsys)
