"""python -m mnist.train loses nothing: checkpoints are not replaced by surprise, a
diverged run saves nothing, SIGTERM saves like Ctrl-C, killed runs leave no litter."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nn
from mnist import train


def main(*argv: str) -> int:
    """The exit status of `python -m mnist.train ARGV`."""
    try:
        return train.main(list(argv))
    except SystemExit as stop:
        return stop.code


def run(folder, *options: str) -> int:
    return main("--data-dir", str(folder), "--hidden", "8", *options)


def send_after(monkeypatch, steps: int, signum: int) -> None:
    """Send `signum` to this process right after training step number `steps`."""
    original = train.Trainer.train_step
    count = 0

    def step_then_signal(self, x, y):
        nonlocal count
        loss = original(self, x, y)
        count += 1
        if count == steps:
            signal.raise_signal(signum)
        return loss

    monkeypatch.setattr(train.Trainer, "train_step", step_then_signal)


# ----- --save never replaces another run's file by surprise -----


def test_save_refuses_an_existing_file_and_leaves_it_alone(tiny_mnist, tmp_path, capsys):
    checkpoint = tmp_path / "ck.npz"
    checkpoint.write_bytes(b"another run's checkpoint")

    assert run(tiny_mnist, "--save", str(checkpoint)) == 2

    err = capsys.readouterr().err
    assert f"--save {checkpoint}: the file exists" in err
    assert f"--resume {checkpoint}" in err and "--overwrite" in err
    assert checkpoint.read_bytes() == b"another run's checkpoint"


def test_save_with_overwrite_replaces_an_existing_file(tiny_mnist, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    checkpoint.write_bytes(b"old")

    assert run(tiny_mnist, "--epochs", "1", "--save", str(checkpoint), "--overwrite") == 0

    assert int(nn.load(checkpoint)["progress"]["epoch"]) == 1


def test_save_may_continue_the_resume_checkpoint(tiny_mnist, tmp_path):
    checkpoint = str(tmp_path / "ck.npz")
    assert run(tiny_mnist, "--epochs", "2", "--save", checkpoint) == 0

    assert run(tiny_mnist, "--epochs", "2", "--save", checkpoint, "--resume", checkpoint) == 0


def test_save_to_another_existing_file_while_resuming_is_refused(tiny_mnist, tmp_path, capsys):
    first, other = tmp_path / "first.npz", tmp_path / "other.npz"
    assert run(tiny_mnist, "--epochs", "1", "--save", str(first)) == 0
    other.write_bytes(b"keep me")

    assert run(tiny_mnist, "--epochs", "1", "--resume", str(first), "--save", str(other)) == 2

    assert "the file exists" in capsys.readouterr().err
    assert other.read_bytes() == b"keep me"


# ----- a diverged run stops and saves nothing -----


def test_a_diverging_run_stops_naming_the_batch_and_suggesting_a_lower_lr(tiny_mnist, capsys):
    assert run(tiny_mnist, "--optimizer", "sgd", "--lr", "1e30") == 1

    last = capsys.readouterr().err.splitlines()[-1]
    assert re.match(
        r"python -m mnist.train: error: the training loss became (nan|inf) in epoch 1", last
    )
    assert "try a lower --lr than 1e+30" in last


def test_a_diverging_run_keeps_the_last_good_checkpoint_and_metrics(
    tiny_mnist, tmp_path, monkeypatch, capsys
):
    original = train.Trainer.train_step

    def nan_in_epoch_2(self, x, y):  # 3 batches of 100 per epoch
        loss = original(self, x, y)
        return float("nan") if self.epoch == 1 and self.step == 2 else loss

    monkeypatch.setattr(train.Trainer, "train_step", nan_in_epoch_2)
    checkpoint, metrics = tmp_path / "ck.npz", tmp_path / "m.json"

    status = run(tiny_mnist, "--epochs", "3", "--batch-size", "100",
                 "--save", str(checkpoint), "--metrics", str(metrics))  # fmt: skip

    assert status == 1
    err = capsys.readouterr().err
    assert "in epoch 2, batch 2" in err and f"{checkpoint} keeps the last good epoch" in err
    saved = nn.load(checkpoint)
    assert int(saved["progress"]["epoch"]) == 1 and int(saved["progress"]["step"]) == 0
    assert all(np.isfinite(value).all() for value in saved["model"].values())
    assert '"epoch": 2' not in metrics.read_text()


# ----- SIGTERM and Ctrl-C -----


def test_sigterm_saves_a_checkpoint_and_exits_with_143(tiny_mnist, tmp_path, monkeypatch, capsys):
    send_after(monkeypatch, 4, signal.SIGTERM)
    checkpoint = tmp_path / "ck.npz"

    assert run(tiny_mnist, "--batch-size", "100", "--save", str(checkpoint)) == 143

    assert "Stopped by SIGTERM in epoch 2, after batch 1" in capsys.readouterr().err
    assert int(nn.load(checkpoint)["progress"]["step"]) == 1


def test_sigterm_to_a_training_process_saves_and_says_how_to_resume(tiny_mnist, tmp_path):
    checkpoint = tmp_path / "ck.npz"
    command = [sys.executable, "-m", "mnist.train", "--data-dir", str(tiny_mnist),
               "--hidden", "8", "--epochs", "100000", "--save", str(checkpoint)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()  # training has started: epoch 1 is done
        assert first.startswith("epoch 1/100000"), process.communicate()[1]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 143
    assert f"To resume, run the same command with --resume {checkpoint}" in err
    assert int(train.read_checkpoint(str(checkpoint))["progress"]["epoch"]) >= 1
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left


def test_an_interrupted_run_does_not_replace_an_earlier_interrupted_checkpoint(
    tiny_mnist, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist-interrupted.npz").write_bytes(b"an earlier run")
    send_after(monkeypatch, 1, signal.SIGINT)

    assert run(tiny_mnist) == 130

    assert (tmp_path / "mnist-interrupted.npz").read_bytes() == b"an earlier run"
    assert "--resume mnist-interrupted-2.npz" in capsys.readouterr().err
    assert int(nn.load(tmp_path / "mnist-interrupted-2.npz")["progress"]["step"]) == 1


def test_an_interrupted_resumed_run_saves_to_its_resume_checkpoint(
    tiny_mnist, tmp_path, monkeypatch
):
    checkpoint = str(tmp_path / "ck.npz")
    with monkeypatch.context() as patch:
        send_after(patch, 1, signal.SIGINT)
        assert run(tiny_mnist, "--batch-size", "100", "--save", checkpoint) == 130
    send_after(monkeypatch, 1, signal.SIGINT)

    assert run(tiny_mnist, "--batch-size", "100", "--resume", checkpoint) == 130

    assert int(nn.load(checkpoint)["progress"]["step"]) == 2  # one batch, then one more


# ----- temporary files of killed runs -----


def test_a_run_removes_temporary_files_a_killed_run_left_beside_its_checkpoint(
    tiny_mnist, tmp_path
):
    stale = tmp_path / ".ck.npz.0123abcd.tmp"
    stale.write_bytes(b"half a checkpoint")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    assert run(tiny_mnist, "--epochs", "1", "--save", str(tmp_path / "ck.npz")) == 0

    assert os.listdir(tmp_path) == ["ck.npz"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_signal_handlers_are_restored_after_training(tiny_mnist, signum):
    before = signal.getsignal(signum)
    assert run(tiny_mnist, "--epochs", "1") == 0
    assert signal.getsignal(signum) is before
