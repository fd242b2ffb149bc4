"""Saving state dicts to .npz files that never need unpickling, written atomically.

A nested dict such as `{"model": model.state_dict(), "optimizer":
opt.state_dict(), "epoch": 3}` is stored flat, one array per leaf, under
names joined with "/" ("model/0.weight", "optimizer/state/0/step", "epoch");
`load` rebuilds the nesting. Numbers and strings are stored as 0-d arrays and
come back as 0-d arrays (`int(x)`, `float(x)`, `x.item()` read them).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import numpy as np

SEPARATOR = "/"

PathLike = str | os.PathLike


def save(state: Mapping[str, Any], path: PathLike) -> None:
    """Write `state` (a dict of arrays, numbers, strings and such dicts) to `path` as .npz.

    The file is written under a temporary name in the same folder and then
    renamed over `path`, so a crash part-way leaves any previous file whole.
    Keys must be non-empty strings without "/"; values that NumPy could only
    store by pickling (None, arbitrary objects) are refused.
    """
    arrays = dict(_flatten(state, ""))

    def write(file: IO[bytes]) -> None:
        # what np.savez does, without its keyword arguments: an entry named "file"
        # or "allow_pickle" would collide with them
        with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    _write_atomically(path, write)


def load(path: PathLike) -> dict[str, Any]:
    """The nested dict saved by `save`. Never unpickles: a file holding Python
    objects raises a ValueError instead of running the code a pickle can hold."""
    try:
        archive = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as error:  # a zip file cut short, by a crash or a download
        message = f"nn.load: {os.fspath(path)} is a damaged .npz archive ({error})"
        raise ValueError(message) from None
    except ValueError as error:
        raise ValueError(
            f"nn.load: {os.fspath(path)} is not an .npz archive ({error}); "
            "refusing to unpickle it, since unpickling can run arbitrary code"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"nn.load: {os.fspath(path)} holds a single array, not an .npz archive")
    tree: dict[str, Any] = {}
    with archive:
        for name in archive.files:
            try:
                value = archive[name]
            except ValueError as error:
                what = (
                    "holds Python objects" if "pickle" in str(error) else f"is unreadable ({error})"
                )
                raise ValueError(
                    f"nn.load: entry {name!r} of {os.fspath(path)} {what}; refusing to unpickle "
                    "it, since unpickling can run arbitrary code"
                ) from None
            _insert(tree, name, value, path)
    return tree


def atomic_write(path: PathLike, content: bytes | str) -> None:
    """Write `content` (str as UTF-8) to `path` atomically, as `save` writes its files."""
    data = content.encode() if isinstance(content, str) else content
    _write_atomically(path, lambda file: file.write(data))


def _flatten(tree: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, np.ndarray]]:
    """(joined name, array) for every leaf; an empty dict is kept as its name + "/"."""
    if not tree and prefix:
        yield prefix, np.zeros(0)
    for key, value in tree.items():
        if not isinstance(key, str) or not key or SEPARATOR in key:
            raise ValueError(
                f"nn.save: cannot save key {key!r} in {prefix or 'the top level'}: keys must be "
                f"non-empty strings without {SEPARATOR!r}, which joins the names of nested dicts"
            )
        name = prefix + key
        if isinstance(value, Mapping):
            yield from _flatten(value, name + SEPARATOR)
            continue
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(
                f"nn.save: {name!r} is a {type(value).__name__}, which .npz can store only by "
                "pickling; save arrays, numbers, strings and dicts of them"
            )
        yield name, array


def _insert(tree: dict[str, Any], name: str, value: np.ndarray, path: PathLike) -> None:
    """Put `value` at the nested place its joined `name` gives (a trailing "/": an empty dict)."""
    *folders, leaf = name.split(SEPARATOR)
    node = tree
    for folder in folders:
        node = node.setdefault(folder, {})
        if not isinstance(node, dict):
            raise ValueError(f"nn.load: {os.fspath(path)} has both a value and a dict at {name!r}")
    if leaf:
        node[leaf] = value


def _write_atomically(path: PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Run `write` on a temporary file beside `path`, sync it, then rename it to `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        with os.fdopen(os.open(temporary, flags, 0o666), "wb") as file:  # 0o666: umask applies
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if os.name == "posix":  # make the rename itself durable
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
