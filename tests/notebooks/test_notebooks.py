"""The notebooks in notebooks/ are a course, committed with their outputs.

The outputs are produced by one command, `python -m notebooks.run` (notebooks/run.py),
and checked by nbval: `python -m pytest` collects notebooks/*.ipynb too (pyproject.toml's
testpaths and `--nbval`), runs each in a fresh kernel as that command does, and fails
where a cell's text output differs from the committed one (notebooks/conftest.py,
notebooks/sanitize.cfg). These tests check what nbval does not: that the course is
complete, in its order, and saved as one clean run.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from notebooks import environment

COURSE = [
    "00_scalar_warmup.ipynb",
    "01_computation_graphs.ipynb",
    "02_backprop_by_hand.ipynb",
    "03_gradient_checking.ipynb",
    "04_training_mnist.ipynb",
    "05_convolutions.ipynb",
    "06_jacobians_and_second_derivatives.ipynb",
]
RERUN = "regenerate the outputs with `python -m notebooks.run` (see README, Notebooks)"


def test_the_course_is_there_in_its_order() -> None:
    assert [path.name for path in environment.notebooks()] == COURSE


@pytest.mark.parametrize("path", environment.notebooks(), ids=lambda path: path.stem)
def test_notebook_is_committed_as_one_run_from_top_to_bottom(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: {RERUN}"
    errors = [
        index
        for index, cell in enumerate(notebook.cells)
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, f"{path.name}: cells {errors} raised errors; {RERUN}"


@pytest.mark.parametrize("path", environment.notebooks(), ids=lambda path: path.stem)
def test_notebook_ends_with_exercises_that_it_checks(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    sources = [cell.source for cell in notebook.cells]
    assert any("## Exercises" in source for source in sources), path.name
    assert sum("exercises.check_" in source for source in sources) >= 2, path.name
