"""Heavy libraries load only where they are used, and a missing extra is named in one line.

Imports are checked in a fresh interpreter each: what `sys.modules` holds after them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd.optional import MissingDependency, optional_import
from mnist import curves, train

REPO = Path(__file__).resolve().parents[1]
OPTIONAL = {
    "graphviz",
    "numba",
    "llvmlite",
    "matplotlib",
    "pooch",
    "requests",
    "onnx",
    "onnxruntime",
}


def loaded_after(code: str) -> set[str]:
    """The top-level packages in sys.modules after running `code` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRAD_NUMBA"}
    script = code + "\nimport sys; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return {name.partition(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize("module", ["autograd", "nn", "nn.onnx", "mnist.train", "mnist.export"])
def test_importing_loads_no_optional_library(module):
    assert loaded_after(f"import {module}") & OPTIONAL == set()


def test_numba_loads_at_the_first_step_of_an_optimizer():
    pytest.importorskip("numba", reason="numba is the numba extra's")
    code = (
        "import numpy as np, autograd as ag, nn\n"
        "p = nn.Parameter(np.zeros(3, np.float32))\n"
        "opt = nn.optim.SGD([p], lr=0.1)\n"
        "p.grad = ag.Tensor(np.ones(3, np.float32))\n"
        "opt.step()"
    )
    assert "numba" in loaded_after(code)


def test_drawing_a_graph_loads_graphviz():
    code = "import autograd as ag\nag.draw_graph(ag.tensor([1.0], requires_grad=True).sum())"
    assert "graphviz" in loaded_after(code)


def test_a_missing_library_is_named_with_the_extra_that_brings_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)

    with pytest.raises(MissingDependency) as error:
        optional_import("matplotlib.pyplot", extra="plot")

    assert str(error.value) == "matplotlib is not installed: pip install 'autograd-numpy[plot]'"


def test_a_missing_base_dependency_is_named_as_the_library_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)

    with pytest.raises(
        MissingDependency, match=r"^graphviz is not installed: pip install graphviz$"
    ):
        ag.draw_graph(ag.tensor([1.0], requires_grad=True).sum())


def test_a_library_that_is_there_but_broken_is_not_reported_missing(monkeypatch, tmp_path):
    (tmp_path / "brokenlib.py").write_text("import a_module_nobody_has\n")
    monkeypatch.syspath_prepend(tmp_path)

    with pytest.raises(ModuleNotFoundError) as error:
        optional_import("brokenlib", extra="plot")

    assert error.value.name == "a_module_nobody_has"
    assert not isinstance(error.value, MissingDependency)


def test_plotting_without_matplotlib_names_the_plot_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    history = [{"epoch": 1, "train_loss": 0.3, "test_accuracy": 0.9, "seconds": 1.0}]

    with pytest.raises(MissingDependency, match=r"pip install 'autograd-numpy\[plot\]'"):
        curves.plot_training_curves(history, tmp_path / "curves.png")


def test_train_with_plot_but_without_matplotlib_stops_before_training(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)

    with pytest.raises(SystemExit) as exit:
        train.parse_args(["--plot", "curves.png"])

    assert exit.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--plot: matplotlib is not installed: pip install 'autograd-numpy[plot]'" in error


def test_exporting_to_onnx_loads_onnx_and_not_onnxruntime():
    pytest.importorskip("onnx", reason="onnx is the onnx extra's")
    code = (
        "import numpy as np, nn, tempfile, os\n"
        "with tempfile.TemporaryDirectory() as folder:\n"
        "    nn.onnx.export(nn.ReLU(), np.zeros((1, 2)), os.path.join(folder, 'm.onnx'))"
    )
    loaded = loaded_after(code)
    assert "onnx" in loaded and "onnxruntime" not in loaded


def test_exporting_without_onnx_names_the_onnx_extra_and_writes_nothing(monkeypatch, tmp_path):
    import nn

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed

    with pytest.raises(
        MissingDependency, match=r"^onnx is not installed: pip install 'autograd-numpy\[onnx\]'$"
    ):
        nn.onnx.export(nn.ReLU(), np.zeros((1, 2)), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
