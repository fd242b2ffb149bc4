"""Read IDX files and load MNIST, downloading the files that are missing.

IDX is the format of the MNIST files: a 4-byte magic number (two zero bytes, a
dtype code, the number of dimensions), one big-endian uint32 per dimension,
then the data in row-major order, big-endian. Files may be gzip-compressed;
that is detected from the content, not the name.

Where the files are: the ``data_dir`` argument, else ``$MNIST_DATA``, else a
per-user cache folder (``pooch.os_cache("autograd-mnist")``). Only that cache
folder is created when missing; a ``data_dir`` or ``$MNIST_DATA`` that is not
an existing folder is an error, so a misspelled path is caught, not filled.
Missing files are downloaded into the folder (as torchvision's ``download=True``
does); when that fails for a folder you gave, the error names the files it lacks.
Each file is found under its standard name (``train-images-idx3-ubyte.gz``) or,
when that is absent, without the ``.gz`` (as it is after ``gunzip``).

Trust: files already in the folder are used as given, without a checksum, so
any dataset in the same layout (Fashion-MNIST under the MNIST names, say) loads
too. Only missing files are downloaded, and a downloaded file is kept only if
the SHA-256 of its uncompressed payload matches ``PAYLOAD_SHA256`` (the
payloads are the same on every mirror, the ``.gz`` bytes are not).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import struct
import sys
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import numpy as np

import nn
from autograd import files

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# SHA-256 of the *uncompressed* payload of each file, checked after download.
PAYLOAD_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# IDX dtype code (third byte of the magic number) -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a well-formed IDX file."""


class ChecksumError(ValueError):
    """A downloaded file's payload does not have the expected SHA-256."""


class DownloadError(OSError):
    """No mirror delivered a valid copy of a file."""


# What `load` raises for data that is missing, cannot be fetched or is malformed.
LOAD_ERRORS = (IDXError, DownloadError, FileNotFoundError, NotADirectoryError)

CLASSES = 10  # labels are the digits 0-9
USE_LOCAL_FILES = (
    "to use files you have, pass --data-dir DIR or set $MNIST_DATA to a folder holding the "
    "four MNIST files (" + ", ".join(FILES["train"] + FILES["test"]) + ", .gz optional)"
)


@contextlib.contextmanager
def _open_payload(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """The file opened for reading, through gunzip when it starts with the gzip magic.

    A broken gzip stream raises IDXError, wherever in the file the reader meets it.
    """
    with open(path, "rb") as file:
        compressed = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if not compressed:
            yield file
            return
        try:
            with gzip.GzipFile(fileobj=file) as stream:
                yield stream
        except (OSError, EOFError, zlib.error) as error:
            raise IDXError(f"{os.fspath(path)}: not a valid gzip stream ({error})") from error


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into a native-endian array.

    The payload is read straight into the array it becomes, so reading takes
    the array's memory and little more. Raises IDXError (a ValueError) naming
    the file and the problem when the magic number, the header or the payload
    size is wrong.
    """
    name = os.fspath(path)
    with _open_payload(path) as file:
        magic = file.read(4)
        if len(magic) < 4:
            raise IDXError(
                f"{name}: only {len(magic)} bytes, too short for the 4-byte magic number"
            )
        zero1, zero2, code, ndim = magic
        if zero1 or zero2 or code not in IDX_DTYPES:
            codes = ", ".join(f"{c:02x}" for c in IDX_DTYPES)
            raise IDXError(
                f"{name}: bad magic number {magic.hex()}: expected 00 00, "
                f"a dtype code ({codes}) and the number of dimensions"
            )
        if ndim == 0:
            raise IDXError(f"{name}: magic number declares 0 dimensions")
        dims = file.read(4 * ndim)
        if len(dims) < 4 * ndim:
            raise IDXError(
                f"{name}: header truncated: {4 + len(dims)} bytes, "
                f"{ndim} dimensions need {4 + 4 * ndim}"
            )
        shape = struct.unpack(f">{ndim}I", dims)
        dtype = IDX_DTYPES[code]
        described = f"{'x'.join(map(str, shape))} {dtype.name}"
        expected = math.prod(shape) * dtype.itemsize
        try:
            array = np.empty(shape, dtype)
        except (MemoryError, ValueError) as error:
            raise IDXError(
                f"{name}: header says {expected} bytes ({described}), too many to hold"
            ) from error
        actual = _read_into(file, array)
        trailing = len(file.read()) if actual == expected else 0
    if actual != expected or trailing:
        what = "truncated" if actual < expected else f"{trailing} trailing bytes"
        raise IDXError(
            f"{name}: {what}: payload has {actual + trailing} bytes, "
            f"header says {expected} ({described})"
        )
    # in place: IDX stores big-endian values, the array's own dtype is native
    return array if dtype.isnative else array.byteswap(inplace=True).view(dtype.newbyteorder("="))


def _read_into(file: BinaryIO, array: np.ndarray, chunk: int = 1 << 20) -> int:
    """Fill `array`'s bytes from `file`, a chunk at a time; returns the bytes read."""
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(buffer):
        n = file.readinto(buffer[done : done + chunk])
        if not n:
            break
        done += n
    return done


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed when `path` ends in .gz (atomically).

    With it, any dataset saved under the four MNIST names trains through --data-dir.
    """
    codes = {dtype: code for code, dtype in IDX_DTYPES.items()}
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if dtype not in codes:
        raise ValueError(f"{os.fspath(path)}: IDX cannot hold {array.dtype} data")
    header = bytes([0, 0, codes[dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(dtype).tobytes()
    if os.fspath(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    nn.atomic_write(path, payload)


def default_data_dir() -> Path:
    """The per-user cache folder that downloads go to (it may not exist yet)."""
    # pooch is imported here and for downloads only: with requests it takes 12 MB of memory
    import pooch

    return Path(pooch.os_cache("autograd-mnist"))


def _given_folder(data_dir: str | os.PathLike | None) -> tuple[Path, str] | None:
    """The folder named by ``data_dir``, else by ``$MNIST_DATA``, and which named it."""
    if data_dir is not None:
        return Path(data_dir).expanduser(), "--data-dir (data_dir)"
    if os.environ.get("MNIST_DATA"):
        return Path(os.environ["MNIST_DATA"]).expanduser(), "$MNIST_DATA"
    return None


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The MNIST folder: ``data_dir``, else ``$MNIST_DATA``, else the user cache.

    A given ``data_dir`` or ``$MNIST_DATA`` must be an existing folder: else
    FileNotFoundError (or NotADirectoryError) says so; only the cache is
    created, by the first download.
    """
    given = _given_folder(data_dir)
    if given is None:
        return default_data_dir()
    folder, given = given
    if not folder.exists():
        raise FileNotFoundError(
            f"the MNIST folder {folder}, given by {given}, does not exist: check the path, "
            "or unset it to use the default cache folder"
        )
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}, given by {given}, is a file, not a folder")
    return folder


def payload_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's content, after gunzip when it is gzip-compressed."""
    digest = hashlib.sha256()
    with _open_payload(path) as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(
    name: str, folder: str | os.PathLike, *, mirrors: Sequence[str] = MIRRORS
) -> Path:
    """Download ``name`` into the existing ``folder``, trying each mirror in turn.

    The file goes to a temporary name in ``folder`` and is renamed into place
    only after its payload matched ``PAYLOAD_SHA256[name]``, so no partial or
    unverified file ever sits under the final name (and temporary files of
    killed downloads are removed, as `nn.save` removes its own). Raises
    DownloadError, in one line: each mirror's reason, and how to use local files.
    """
    import pooch

    expected = PAYLOAD_SHA256[name]
    target = Path(folder) / name
    files.remove_stale_temporaries(target)
    print(f"Downloading {name} into {folder}", file=sys.stderr)
    failures = {}
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += name
        tmp = files.temporary_name(target)
        try:
            # No pooch known_hash: it would check the .gz bytes, which differ by mirror.
            pooch.HTTPDownloader(progressbar=True, chunk_size=1 << 16)(url, tmp, None)
            actual = payload_sha256(tmp)
            if actual != expected:
                raise ChecksumError(
                    f"SHA-256 of the uncompressed payload is {actual}, expected {expected}"
                )
            os.replace(tmp, target)
            return target
        except (OSError, ValueError) as error:  # requests' errors are OSErrors
            failures[urlsplit(url).netloc or url] = _reason(error)
        finally:
            Path(tmp).unlink(missing_ok=True)
    if len(set(failures.values())) == 1 and len(failures) > 1:
        tried = f"all {len(failures)} mirrors: {next(iter(failures.values()))}"
    else:
        tried = "; ".join(f"{host}: {reason}" for host, reason in failures.items())
    raise DownloadError(f"could not download {name} ({tried}); {USE_LOCAL_FILES}")


def _reason(error: BaseException) -> str:
    """Why a download failed, in a few words: the HTTP status, or the root cause."""
    response = getattr(error, "response", None)
    if response is not None:  # requests.HTTPError
        return f"HTTP {response.status_code} {response.reason}"
    root = error
    while (root.__cause__ or root.__context__) is not None:
        root = root.__cause__ or root.__context__
    if isinstance(root, OSError) and root.strerror:  # "Connection refused", "timed out"
        return root.strerror
    return str(error)


def find_file(folder: Path, name: str) -> Path | None:
    """``folder / name``, else the same without ``.gz`` (gunzipped), else None."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def load(
    split: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8, [N, 28, 28]) and labels (uint8, [N], each 0-9) of ``split``.

    ``split`` is "train" or "test". Files present in the folder (see
    ``resolve_data_dir``), compressed or not, are used as they are; missing
    ones are downloaded from ``mirrors`` (default ``MIRRORS``) and checked, or
    with ``download=False`` raise FileNotFoundError. A failed download into a
    folder you gave names the files it lacks. A file that does not hold a
    non-empty split of MNIST's shape raises IDXError naming it.
    """
    if split not in FILES:
        raise ValueError(f"split must be one of {', '.join(FILES)}, got {split!r}")
    given = _given_folder(data_dir)
    folder = resolve_data_dir(data_dir)
    names = FILES[split]
    missing = [name for name in names if find_file(folder, name) is None]
    if missing and not download:
        raise FileNotFoundError(
            f"{', '.join(missing)} not found in {folder} (download=False); "
            "put the files there or point --data-dir or $MNIST_DATA at a folder that has them"
        )
    if missing:
        folder.mkdir(parents=True, exist_ok=True)  # the cache, made by the first download
    for name in missing:
        try:
            download_file(name, folder, mirrors=MIRRORS if mirrors is None else mirrors)
        except DownloadError as error:
            if given is None:
                raise
            reason = str(error).removesuffix(USE_LOCAL_FILES)
            raise DownloadError(reason + _lacking(folder, given[1])) from error

    images_path, labels_path = (find_file(folder, name) for name in names)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXError(f"{images_path}: expected uint8 images Nx28x28, got {_describe(images)}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IDXError(f"{labels_path}: expected uint8 labels of shape N, got {_describe(labels)}")
    if len(images) != len(labels):
        raise IDXError(
            f"{images_path.name} has {len(images)} images but {labels_path.name} has "
            f"{len(labels)} labels (in {folder})"
        )
    if len(images) == 0:
        raise IDXError(f"{images_path}: holds no images, the {split} split is empty")
    wrong = np.flatnonzero(labels >= CLASSES)
    if len(wrong):
        raise IDXError(
            f"{labels_path}: label {labels[wrong[0]]} at index {wrong[0]} is not a digit 0-9 "
            f"({len(wrong)} such labels)"
        )
    return images, labels


def _lacking(folder: Path, given: str) -> str:
    """What a folder given by the user lacks of the four files, and what to do."""
    absent = [name for name in FILES["train"] + FILES["test"] if find_file(folder, name) is None]
    return (
        f"the MNIST folder {folder}, given by {given}, lacks {', '.join(absent)} "
        f"({len(absent)} of the four MNIST files, .gz optional): put them there"
    )


def _describe(array: np.ndarray) -> str:
    return f"{'x'.join(map(str, array.shape))} {array.dtype}"
