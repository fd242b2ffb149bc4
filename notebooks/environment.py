"""Where and how the notebooks run: one place for `python -m notebooks.run` and for the
tests (nbval), so that both give the same outputs."""

from __future__ import annotations

import os
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
REPO = NOTEBOOK_DIR.parent
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def notebooks() -> list[Path]:
    """The course, in its order (the file names' order)."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def _holds_mnist(folder: Path) -> bool:
    return all(
        (folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in MNIST_FILES
    )


def find_mnist() -> Path | None:
    """The folder of the real MNIST files, as the `real_mnist` fixture looks for it:
    $MNIST_DATA, else ../shared/mnist beside the repository, else the user cache of
    `mnist.data` if a download filled it. The notebooks get it as $MNIST_DATA."""
    from mnist.data import default_data_dir

    candidates = [REPO.parent / "shared" / "mnist", default_data_dir()]
    if os.environ.get("MNIST_DATA"):
        candidates.insert(0, Path(os.environ["MNIST_DATA"]))
    return next((folder.resolve() for folder in candidates if _holds_mnist(folder)), None)


def kernel_environment(mnist: Path) -> dict[str, str]:
    """Variables for a notebook's kernel: this checkout first on PYTHONPATH (so the
    notebooks import it, whatever is installed), $MNIST_DATA, the figures inline, and
    one thread for BLAS so that sums come out the same on every run."""
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "MNIST_DATA": str(mnist),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def apply(env: dict[str, str]) -> None:
    """Set `env` in this process, which the kernels inherit; drop a non-inline MPLBACKEND."""
    os.environ.update(env)
    if "inline" not in os.environ.get("MPLBACKEND", "inline"):
        del os.environ["MPLBACKEND"]
