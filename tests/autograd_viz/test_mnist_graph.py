"""python -m mnist.graph: the MNIST model's loss graph as a file, with or without Graphviz."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mnist import data, graph

PARAMETERS = {"0.weight", "0.bias", "2.weight", "2.bias"}


def svg_texts(path: Path) -> set[str]:
    root = ET.parse(path).getroot()
    return {element.text for element in root.iter("{http://www.w3.org/2000/svg}text")}


def without_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH on which no Graphviz program can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_command_writes_an_svg_naming_the_parameters(tmp_path):
    out = tmp_path / "tmp" / "x.svg"
    command = [sys.executable, "-m", "mnist.graph", "--out", str(out), "--random"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert PARAMETERS | {"Linear", "Relu", "CrossEntropy", "(512, 784) float32"} <= svg_texts(out)
    assert [p.name for p in out.parent.iterdir()] == ["x.svg"]  # no temporary file left


def test_dot_output_needs_no_graphviz(tmp_path, monkeypatch, capsys):
    without_dot(monkeypatch, tmp_path)
    out = tmp_path / "g.dot"
    assert graph.main(["--out", str(out), "--random", "--batch-size", "3"]) == 0
    source = out.read_text()
    assert source.startswith("digraph")
    assert all(f'label="{name}\\n' in source for name in PARAMETERS)
    assert "(3, 784) float32" in source
    assert capsys.readouterr().err == ""


def test_two_runs_for_the_cnn_write_identical_files(tmp_path):
    # --show-values puts the dropout masks' effect into the file
    runs = [
        [sys.executable, "-m", "mnist.graph", "--model", "cnn", "--random", "--show-values",
         "--out", str(tmp_path / f"{run}.dot")]
        for run in ("first", "second")
    ]  # fmt: skip
    for command in runs:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    assert (tmp_path / "first.dot").read_bytes() == (tmp_path / "second.dot").read_bytes()


def test_without_dot_a_picture_falls_back_to_the_dot_source_and_fails(
    tmp_path, monkeypatch, capsys
):
    without_dot(monkeypatch, tmp_path)
    out = tmp_path / "g.svg"
    assert graph.main(["--out", str(out), "--random"]) == 1
    assert not out.exists()
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    err = capsys.readouterr().err
    assert "g.dot" in err and "apt-get install graphviz" in err and "brew install graphviz" in err


def test_an_unknown_ending_is_refused_listing_the_formats(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        graph.main(["--out", str(tmp_path / "g.jpg")])
    assert raised.value.code == 2
    assert ".svg, .png, .pdf, .dot" in capsys.readouterr().err


def test_the_batch_comes_from_the_test_split(tmp_path, capsys):
    images, labels = np.zeros((5, 28, 28), np.uint8), np.arange(5, dtype=np.uint8)
    for name, array in zip(data.FILES["test"], (images, labels)):
        header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (tmp_path / name).write_bytes(gzip.compress(header + array.tobytes()))
    out = tmp_path / "g.dot"
    assert graph.main(["--out", str(out), "--data-dir", str(tmp_path), "--batch-size", "8"]) == 0
    assert "(5, 784) float32" in out.read_text()  # all 5 images there are
    assert "random" not in capsys.readouterr().err


def test_unloadable_data_falls_back_to_a_random_batch(tmp_path, monkeypatch, capsys):
    def no_data(*args, **kwargs):
        raise data.DownloadError("no network")

    monkeypatch.setattr(data, "load", no_data)
    assert graph.main(["--out", str(tmp_path / "g.dot"), "--data-dir", str(tmp_path)]) == 0
    assert "random batch" in capsys.readouterr().err


def test_show_values_adds_values_and_gradients_to_every_node(tmp_path):
    out = tmp_path / "g.dot"
    assert graph.main(["--out", str(out), "--random", "--show-values"]) == 0
    source = out.read_text()
    ops = ["CrossEntropy", "Linear", "Relu", "Linear"]
    assert source.count("\\ngrad ") == len(PARAMETERS) + len(ops)
    assert "grad not kept" not in source and "value freed" not in source
    assert "color=red" not in source


def page_steps(path: Path) -> list[dict]:
    """The steps' data of a backward page."""
    text = path.read_text()
    start = text.index('<script type="application/json" id="backprop-steps">')
    body = text[text.index(">", start) + 1 : text.index("</script>", start)]
    return json.loads(body)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_html_writes_the_backward_page_of_the_cnn(tmp_path, capsys):
    page = tmp_path / "new" / "cnn.html"
    assert graph.main(["--html", str(page), "--model", "cnn", "--random"]) == 0
    steps = page_steps(page)
    assert steps[0]["op"] == "CrossEntropy" and steps[-1]["op"] == "Conv2d"
    assert {"op", "output_shape", "output_grad_norm", "input_grad_norms"} <= set(steps[0])
    named = {leaf["name"] for step in steps for leaf in step["completes"]}
    assert named == {f"{i}.{p}" for i in (0, 3, 8, 11) for p in ("weight", "bias")}
    assert [p.name for p in page.parent.iterdir()] == ["cnn.html"]
    assert capsys.readouterr().out == f"wrote {page}\n"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_html_and_out_together_write_both(tmp_path):
    page, picture = tmp_path / "b.html", tmp_path / "g.dot"
    argv = ["--html", str(page), "--out", str(picture), "--random", "--show-values"]
    assert graph.main(argv) == 0
    assert picture.read_text().count("grad not kept") == 0  # the page's backward filled them
    assert [s["op"] for s in page_steps(page)] == ["CrossEntropy", "Linear", "Relu", "Linear"]


def test_html_without_dot_fails_in_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    without_dot(monkeypatch, tmp_path)
    page = tmp_path / "b.html"
    assert graph.main(["--html", str(page), "--random"]) == 1
    assert not page.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "apt-get install graphviz" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "give --out FILE (the picture), --html FILE (the page) or both"),
        (["--html", "page.svg"], "--html must end in .html or .htm, got 'page.svg'"),
    ],
)
def test_html_options_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        graph.main(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_an_html_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "x.html"
    folder.mkdir()
    with pytest.raises(SystemExit):
        graph.main(["--html", str(folder)])
    assert f"--html {folder}: is a folder; give the path of a file" in capsys.readouterr().err
