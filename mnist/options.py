"""What the mnist commands share on their command lines, and how it is checked.

Bad input ends the command before any work, with one line that says what is
wrong: ``python -m mnist.train: error: argument --lr: must be a finite number
above 0, got nan (see --help)``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

SEED_MAX = 2**63 - 1  # checkpoints store the seed as an int64


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with its errors on one line instead of after the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    value = _number(int, text, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def int_from(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for an integer from `low` to `high`."""

    def check(text: str) -> int:
        value = _number(int, text, "an integer")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {text}")
        return value

    return check


def seed(text: str) -> int:
    value = _number(int, text, "an integer")
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63 - 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(float, text, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _number(kind: type, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """The --data-dir option; a folder that does not exist is refused, never created."""
    parser.add_argument(
        "--data-dir",
        type=existing_folder,
        help="folder holding the four MNIST IDX files, .gz or not; nothing is downloaded "
        "into it: a missing file is an error naming it (default: $MNIST_DATA, likewise, "
        "else a user cache folder, where missing files are downloaded and checked)",
    )


def existing_folder(text: str) -> str:
    path = Path(text).expanduser()
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "no such folder"
        raise argparse.ArgumentTypeError(f"{what}: {text}")
    return text


def check_output(parser: argparse.ArgumentParser, option: str, path: str | Path) -> None:
    """Refuse, before any work, an output path that could only fail once written."""
    path = Path(path)
    if path.is_dir():
        parser.error(f"{option} {path}: is a folder; give the path of a file")
    folder = path.resolve().parent
    if not folder.is_dir():
        parser.error(f"{option} {path}: the folder {path.parent} does not exist")
    try:  # a read-only folder or file system: what the first save would run into
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        parser.error(f"{option} {path}: cannot write in the folder {folder} ({error.strerror})")


def check_distinct(parser: argparse.ArgumentParser, paths: dict[str, str | None]) -> None:
    """Refuse two options naming the same file: the second write would replace the first."""
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            parser.error(
                f"{seen[resolved]} and {option} name the same file, {path}: give each its own"
            )
        seen[resolved] = option
