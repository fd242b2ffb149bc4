"""Fixtures for the whole suite."""

import os
from pathlib import Path

import pytest

from mnist import data

REPO = Path(__file__).resolve().parents[1]
MNIST_FILES = data.FILES["train"] + data.FILES["test"]


def holds_mnist(folder: Path) -> bool:
    return all(data.find_file(folder, name) for name in MNIST_FILES)


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The folder of the real MNIST files: $MNIST_DATA, else ../shared/mnist beside the
    repository, else the user cache if a download filled it. Tests never download: the
    test that needs the files is skipped where none of these holds them."""
    candidates = [REPO.parent / "shared" / "mnist", data.default_data_dir()]
    if os.environ.get("MNIST_DATA"):
        candidates.insert(0, Path(os.environ["MNIST_DATA"]))
    for folder in candidates:
        if holds_mnist(folder):
            return folder
    pytest.skip("real MNIST not found: set $MNIST_DATA or put the files in ../shared/mnist")
