"""Saving state dicts to .npz files that never need unpickling, written atomically.

A nested dict such as `{"model": model.state_dict(), "optimizer":
opt.state_dict(), "epoch": 3}` is stored flat, one array per leaf, under
names joined with "/" ("model/0.weight", "optimizer/state/0/step", "epoch");
`load` rebuilds the nesting. Numbers and strings are stored as 0-d arrays and
come back as 0-d arrays (`int(x)`, `float(x)`, `x.item()` read them).

Files are written atomically, by `autograd.files.write_atomically`.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, Any

import numpy as np

from autograd.files import write_atomically

SEPARATOR = "/"
MAX_BYTES = 2 * 1024**3  # what `load` allocates at most, by default

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL = 0x80  # the first byte of a pickle of protocol 2 or later
_MAX_DIMS = 64  # NumPy's NPY_MAXDIMS (since NumPy 2)
_MAX_INTP = int(np.iinfo(np.intp).max)  # NumPy's bound on an array's size in bytes
# What zipfile raises for a damaged archive: a bad CRC or directory (BadZipFile), a cut
# stream (EOFError, zlib.error), an encrypted entry or an unknown method or version
# (RuntimeError and its NotImplementedError).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error)

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

    write_atomically(path, write)


def load(path: PathLike, *, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The nested dict saved by `save`.

    The file is read as untrusted: it is never unpickled, and every way it can be
    wrong (empty, not a zip, cut short, an entry that is not a .npy array, holds
    Python objects or claims a shape no array can have) raises a ValueError naming
    the file and the problem. The arrays may take `max_bytes` together (2 GiB by
    default); each entry's size is read from its header and checked before
    anything is allocated or inflated, so neither a header claiming a huge shape
    nor a zip bomb costs memory.
    """
    name = os.fspath(path)
    with open(path, "rb") as file:
        start = file.read(len(_NPY_MAGIC))
        _check_start(name, start)
        try:
            archive = zipfile.ZipFile(file)
        except _ZIP_ERRORS as error:
            if start.startswith(_ZIP_MAGIC):  # a zip file cut short, by a crash or a download
                raise ValueError(f"{name} is a damaged .npz archive ({error})") from None
            raise ValueError(
                f"{name} is not an .npz archive: it starts with the bytes {start.hex(' ')}"
            ) from None
        tree: dict[str, Any] = {}
        budget = max_bytes
        with archive:
            for info in archive.infolist():
                array = _read_entry(archive, info, name, budget)
                budget -= array.nbytes
                _insert(tree, info.filename.removesuffix(".npy"), array, name)
    return tree


def _check_start(name: str, start: bytes) -> None:
    """Refuse, by their first bytes, the files that are plainly no .npz archive."""
    if not start:
        raise ValueError(f"{name} is empty (0 bytes), not an .npz archive")
    if start.startswith(_NPY_MAGIC):
        raise ValueError(f"{name} holds a single array (.npy), not an .npz archive")
    if start[0] == _PICKLE_PROTOCOL:
        raise ValueError(
            f"{name} is not an .npz archive but a pickle; refusing to unpickle it, "
            "since unpickling can run arbitrary code"
        )


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, budget: int
) -> np.ndarray:
    """One .npy entry as an array, its size checked against `budget` before reading it."""
    where = f"entry {info.filename.removesuffix('.npy')!r} of {path}"
    if not info.filename.endswith(".npy"):
        raise ValueError(
            f"{path} is a zip archive but not an .npz: its entry {info.filename!r} "
            "is not a .npy array"
        )
    try:
        with archive.open(info) as member:
            shape, fortran_order, dtype = _read_npy_header(member, where)
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes > budget:
                raise ValueError(
                    f"{where} is a {'x'.join(map(str, shape))} {dtype} array of "
                    f"{_size(nbytes)}, more than the {_size(budget)} left of "
                    "max_bytes; pass a larger max_bytes to nn.load if you trust the file"
                )
            buffer = bytearray(nbytes)
            read = member.readinto(buffer)
            if read != nbytes or member.read(1):
                what = f"only {read} of" if read != nbytes else "more than"
                raise ValueError(f"{where} holds {what} the {nbytes} bytes its header declares")
    except _ZIP_ERRORS as error:
        raise ValueError(f"{where} is unreadable ({error})") from None
    return np.ndarray(shape, dtype, buffer=buffer, order="F" if fortran_order else "C")


def _read_npy_header(member: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from a .npy header; object dtypes are refused."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
    except ValueError as error:  # NumPy's message may run over several lines
        raise ValueError(
            f"{where} has no valid .npy header ({' '.join(str(error).split())})"
        ) from None
    if dtype.hasobject:
        raise ValueError(
            f"{where} holds Python objects; refusing to unpickle it, "
            "since unpickling can run arbitrary code"
        )
    problem = _shape_problem(shape, dtype)
    if problem:
        raise ValueError(f"{where} has no valid .npy header (shape {shape} {problem})")
    return shape, fortran_order, dtype


def _shape_problem(shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    """Why NumPy could make no array of `shape` and `dtype`, or None if it could."""
    if any(n < 0 for n in shape):
        return "has a negative dimension"
    if len(shape) > _MAX_DIMS:
        return f"has {len(shape)} dimensions, more than NumPy's {_MAX_DIMS}"
    # NumPy bounds the product of the nonzero dimensions even when another one is zero
    if math.prod(n for n in shape if n) * max(dtype.itemsize, 1) > _MAX_INTP:
        return "is larger than NumPy can address"
    return None


def _size(nbytes: int) -> str:
    """`nbytes` for people: 7.0 TiB, 512.0 MiB, 300 B."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if nbytes >= 1024**power:
            return f"{nbytes / 1024**power:.1f} {unit}"
    return f"{nbytes} B"


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


def _insert(tree: dict[str, Any], name: str, value: np.ndarray, path: str) -> None:
    """Put `value` at the nested place its joined `name` gives (a trailing "/": an empty dict)."""
    *folders, leaf = name.split(SEPARATOR)
    node = tree
    for folder in folders:
        node = node.setdefault(folder, {})
        if not isinstance(node, dict):
            raise ValueError(f"{path} has both a value and a dict at {name!r}")
    if leaf:
        if isinstance(node.get(leaf), dict):
            raise ValueError(f"{path} has both a value and a dict at {name!r}")
        node[leaf] = value
