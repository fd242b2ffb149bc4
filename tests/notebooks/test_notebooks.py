"""The notebooks in notebooks/ run from top to bottom, and are committed without outputs.

Each notebook runs in a fresh python3 kernel (ipykernel) with notebooks/ as its working
directory, the repository first on PYTHONPATH (so it imports this checkout), matplotlib
on the Agg backend and $MNIST_DATA set to the real MNIST folder (the `real_mnist`
fixture); every notebook reads MNIST, so without the files they are skipped, not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "01_backprop_by_hand.ipynb",
    "02_gradient_checking.ipynb",
    "03_computation_graphs.ipynb",
    "04_training_mnist.ipynb",
    "05_convolutions.ipynb",
}
CELL_TIMEOUT_S = 120
CLEAR_OUTPUTS = (
    "clear them before committing: in Jupyter, Edit > Clear Outputs of All Cells, then save; "
    "or `jupyter nbconvert --clear-output --inplace notebooks/*.ipynb`"
)


def test_every_notebook_of_the_walkthrough_is_there() -> None:
    missing = EXPECTED - {path.name for path in NOTEBOOKS}
    assert not missing, f"missing from {NOTEBOOK_DIR}: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} have outputs or execution counts; {CLEAR_OUTPUTS}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_from_top_to_bottom(
    path: Path, monkeypatch: pytest.MonkeyPatch, real_mnist: Path
) -> None:
    # The kernel inherits this environment.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MNIST_DATA", str(real_mnist.resolve()))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
