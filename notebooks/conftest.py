"""The notebooks as tests (nbval, switched on by `--nbval` in pyproject.toml's addopts):
each one runs in a fresh kernel, as `python -m notebooks.run` runs it, and every code
cell's text output must match the one committed; figures may differ. Output that varies
from run to run is masked by notebooks/sanitize.cfg. Without the real MNIST files the
notebooks are skipped, as the `real_mnist` fixture skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from notebooks import environment

SANITIZE = environment.NOTEBOOK_DIR / "sanitize.cfg"


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval_sanitize_with", "unset") is None:
        config.option.nbval_sanitize_with = str(SANITIZE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """A notebook's kernel starts in the setup of its first cell: give it the notebooks'
    environment there, and leave the rest of the suite's untouched."""
    mnist = environment.find_mnist()
    if Path(str(item.path)).suffix != ".ipynb" or mnist is None:
        yield
        return
    saved = dict(os.environ)
    environment.apply(environment.kernel_environment(mnist))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if environment.find_mnist() is not None:
        return
    skip = pytest.mark.skip(
        reason="real MNIST not found: set $MNIST_DATA or put the files in ../shared/mnist"
    )
    for item in items:
        if Path(str(item.path)).suffix == ".ipynb":
            item.add_marker(skip)
