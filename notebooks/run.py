"""Run the notebooks and save them with their outputs: `python -m notebooks.run [NAME ...]`.

Each notebook runs from top to bottom in a fresh python3 kernel, with notebooks/ as its
working directory and the environment of `notebooks.environment` (this checkout, the
real MNIST from $MNIST_DATA or ../shared/mnist), and is written back in place with its
outputs and figures. Names select notebooks (`04` or `04_training_mnist.ipynb`); none
runs them all. Running it twice gives the same text outputs, which the tests compare
(nbval, `python -m pytest`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from notebooks import environment

CELL_TIMEOUT_S = 600


def run(path: Path) -> float:
    """Execute the notebook at `path` and save it with its outputs; the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(environment.NOTEBOOK_DIR)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(notebook, path)
    return seconds


def merge_streams(outputs: list) -> list:
    """Join consecutive pieces of the same stream: how the kernel splits what one cell
    prints varies from run to run, what it printed does not."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.run", description=__doc__)
    parser.add_argument("names", nargs="*", help="notebooks to run (all when none)")
    args = parser.parse_args(argv)
    paths = environment.notebooks()
    if args.names:
        paths = [p for p in paths if any(p.name.startswith(name) for name in args.names)]
        if not paths:
            parser.error(f"no notebook matches {' '.join(args.names)}")
    mnist = environment.find_mnist()
    if mnist is None:
        parser.error("real MNIST not found: set $MNIST_DATA or put the files in ../shared/mnist")
    environment.apply(environment.kernel_environment(mnist))
    total = 0.0
    for path in paths:
        print(f"{path.name} ...", end=" ", flush=True)
        seconds = run(path)
        total += seconds
        print(f"{seconds:.1f} s", flush=True)
    print(f"{len(paths)} notebooks in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
