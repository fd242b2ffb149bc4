import gzip
import hashlib
import os
import struct
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pooch
import pytest

from mnist import data

TRAIN_IMAGES, TRAIN_LABELS = data.FILES["train"]
CODES = {np.dtype(dtype): code for code, dtype in data.IDX_DTYPES.items()}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX payload for ``array``: magic number, dimensions, big-endian data."""
    dtype = array.dtype.newbyteorder(">")
    magic = bytes([0, 0, CODES[dtype], array.ndim])
    return magic + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(dtype).tobytes()


def write(path: Path, payload: bytes, compress: bool = True) -> Path:
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path


def small_split(seed: int = 0, count: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), np.arange(count, dtype=np.uint8)


def write_split(folder: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    images, labels = small_split(seed)
    write(folder / TRAIN_IMAGES, idx_bytes(images))
    write(folder / TRAIN_LABELS, idx_bytes(labels))
    return images, labels


def serve_split(srv, monkeypatch, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    images, labels = write_split(srv.root, seed)
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        monkeypatch.setitem(data.PAYLOAD_SHA256, name, data.payload_sha256(srv.root / name))
    return images, labels


CLOSED = "http://127.0.0.1:1/"


# read_idx


def test_read_idx_reads_gzip_file(tmp_path):
    images, _ = small_split()
    path = write(tmp_path / "images.gz", idx_bytes(images))
    out = data.read_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, images)


def test_read_idx_reads_raw_file(tmp_path):
    images, _ = small_split()
    path = write(tmp_path / "images", idx_bytes(images), compress=False)
    np.testing.assert_array_equal(data.read_idx(path), images)


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    images, _ = small_split()
    raw = write(tmp_path / "raw.gz", idx_bytes(images), compress=False)
    compressed = write(tmp_path / "compressed.idx", idx_bytes(images))
    np.testing.assert_array_equal(data.read_idx(raw), images)
    np.testing.assert_array_equal(data.read_idx(compressed), images)


@pytest.mark.parametrize("dtype", ["i1", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_returns_native_endian_values(tmp_path, dtype):
    array = np.array([[-3, 1, 2], [7, -100, 120]], dtype=dtype)
    out = data.read_idx(write(tmp_path / "x.gz", idx_bytes(array)))
    assert out.dtype.isnative
    assert out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize(
    "magic", [b"\x01\x00\x08\x01", b"\x00\x02\x08\x01", b"\x00\x00\x07\x01", b"\x1f\x00\x08\x01"]
)
def test_read_idx_rejects_wrong_magic_number(tmp_path, magic):
    path = write(tmp_path / "bad-idx1-ubyte.gz", magic + struct.pack(">I", 2) + b"\x01\x02")
    with pytest.raises(data.IDXError, match=r"bad-idx1-ubyte\.gz: bad magic number"):
        data.read_idx(path)


def test_read_idx_rejects_zero_dimensions(tmp_path):
    path = write(tmp_path / "scalar.gz", b"\x00\x00\x08\x00\x05")
    with pytest.raises(data.IDXError, match=r"scalar\.gz: .*0 dimensions"):
        data.read_idx(path)


def test_read_idx_rejects_file_shorter_than_magic_number(tmp_path):
    path = write(tmp_path / "tiny.gz", b"\x00\x00")
    with pytest.raises(data.IDXError, match=r"tiny\.gz: only 2 bytes"):
        data.read_idx(path)


def test_read_idx_rejects_truncated_header(tmp_path):
    path = write(tmp_path / "header.gz", b"\x00\x00\x08\x03" + struct.pack(">I", 7))
    with pytest.raises(data.IDXError, match=r"header\.gz: header truncated"):
        data.read_idx(path)


def test_read_idx_rejects_truncated_payload_with_sizes_in_message(tmp_path):
    images, _ = small_split()
    path = write(tmp_path / TRAIN_IMAGES, idx_bytes(images)[:-10])
    expected = (
        f"{TRAIN_IMAGES}: truncated: payload has 5478 bytes, header says 5488 (7x28x28 uint8)"
    )
    with pytest.raises(data.IDXError) as info:
        data.read_idx(path)
    assert str(info.value).endswith(expected)


def test_read_idx_rejects_trailing_bytes(tmp_path):
    _, labels = small_split()
    path = write(tmp_path / TRAIN_LABELS, idx_bytes(labels) + b"\x00\x00\x00")
    with pytest.raises(data.IDXError, match=r"labels-idx1-ubyte\.gz: 3 trailing bytes"):
        data.read_idx(path)


def test_read_idx_rejects_dimensions_that_disagree_with_payload(tmp_path):
    images, _ = small_split()
    payload = bytearray(idx_bytes(images))
    payload[4:16] = struct.pack(">3I", 7, 28, 27)
    path = write(tmp_path / "dims.gz", bytes(payload))
    with pytest.raises(data.IDXError, match=r"dims\.gz: 196 trailing bytes.*7x28x27 uint8"):
        data.read_idx(path)


def test_read_idx_rejects_corrupt_gzip_stream(tmp_path):
    images, _ = small_split()
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:100])
    with pytest.raises(data.IDXError, match=r"cut\.gz: not a valid gzip stream"):
        data.read_idx(path)


# load from a folder


def test_load_reads_split_from_data_dir(tmp_path):
    images, labels = write_split(tmp_path)
    out_images, out_labels = data.load("train", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


def test_load_reads_from_mnist_data_environment_variable(tmp_path, monkeypatch):
    images, _ = write_split(tmp_path)
    monkeypatch.setenv("MNIST_DATA", str(tmp_path))
    np.testing.assert_array_equal(data.load("train", download=False)[0], images)


def test_data_dir_argument_takes_precedence_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "elsewhere"))
    images, _ = write_split(tmp_path)
    np.testing.assert_array_equal(data.load("train", tmp_path, download=False)[0], images)


def test_data_dir_defaults_to_user_cache(monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    assert data.resolve_data_dir() == Path(pooch.os_cache("autograd-mnist"))
    assert data.resolve_data_dir() == data.default_data_dir()


def test_load_rejects_unknown_split(tmp_path):
    with pytest.raises(ValueError, match=r"train, test.*'validation'"):
        data.load("validation", data_dir=tmp_path)


def test_load_rejects_image_and_label_count_mismatch(tmp_path):
    write_split(tmp_path)
    write(tmp_path / TRAIN_LABELS, idx_bytes(np.arange(6, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"7 images but .*labels-idx1-ubyte\.gz has 6 labels"):
        data.load("train", data_dir=tmp_path, download=False)


def test_load_rejects_images_that_are_not_28x28(tmp_path):
    write_split(tmp_path)
    write(tmp_path / TRAIN_IMAGES, idx_bytes(np.zeros((7, 28, 27), np.uint8)))
    with pytest.raises(ValueError, match=r"images-idx3-ubyte\.gz: expected .*got 7x28x27 uint8"):
        data.load("train", data_dir=tmp_path, download=False)


def test_load_trusts_present_files_without_checksum(tmp_path):
    images, _ = write_split(tmp_path)  # payload hashes differ from MNIST's
    out_images, _ = data.load("train", data_dir=tmp_path, mirrors=[CLOSED])
    np.testing.assert_array_equal(out_images, images)


def test_load_without_download_names_missing_files_and_folder(tmp_path):
    write(tmp_path / TRAIN_LABELS, idx_bytes(small_split()[1]))
    with pytest.raises(FileNotFoundError) as info:
        data.load("train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert TRAIN_IMAGES in message and TRAIN_LABELS not in message
    assert str(tmp_path) in message and "--data-dir" in message and "MNIST_DATA" in message


# download


def cache(tmp_path, monkeypatch) -> Path:
    """The user cache folder, moved to `tmp_path` (not yet made); $MNIST_DATA unset."""
    monkeypatch.delenv("MNIST_DATA", raising=False)
    folder = tmp_path / "cache"
    monkeypatch.setattr(data, "default_data_dir", lambda: folder)
    return folder


def test_load_downloads_missing_files(tmp_path, server, monkeypatch):
    images, labels = serve_split(server, monkeypatch)
    folder = tmp_path / "mnist"
    folder.mkdir()
    out_images, out_labels = data.load("train", data_dir=folder, mirrors=[server.url])
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)
    assert sorted(p.name for p in folder.iterdir()) == sorted([TRAIN_IMAGES, TRAIN_LABELS])


def test_load_downloads_only_missing_files(tmp_path, server, monkeypatch):
    serve_split(server, monkeypatch)
    folder = tmp_path / "data"
    folder.mkdir()
    write(folder / TRAIN_LABELS, idx_bytes(small_split()[1]))
    data.load("train", data_dir=folder, mirrors=[server.url])
    assert server.requests == [f"/{TRAIN_IMAGES}"]


def test_a_failed_download_into_a_data_dir_names_the_files_it_lacks(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / TRAIN_LABELS, idx_bytes(small_split()[1]))
    absent = [TRAIN_IMAGES, *data.FILES["test"]]

    with pytest.raises(data.DownloadError) as info:
        data.load("train", folder, mirrors=[CLOSED])

    message = str(info.value)
    assert f"lacks {', '.join(absent)} (3 of the four" in message
    assert "pass --data-dir" not in message


def test_download_falls_back_to_next_mirror(tmp_path, server, monkeypatch):
    images, _ = serve_split(server, monkeypatch)
    path = data.download_file(TRAIN_IMAGES, tmp_path, mirrors=[CLOSED, server.url])
    np.testing.assert_array_equal(data.read_idx(path), images)


def test_download_refuses_checksum_mismatch_and_leaves_no_file(tmp_path, server, monkeypatch):
    serve_split(server, monkeypatch)
    expected = data.PAYLOAD_SHA256[TRAIN_IMAGES]
    corrupt = idx_bytes(small_split(seed=1)[0])
    write(server.root / TRAIN_IMAGES, corrupt)
    actual = hashlib.sha256(corrupt).hexdigest()
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(data.DownloadError) as info:
        data.download_file(TRAIN_IMAGES, folder, mirrors=[server.url])
    message = str(info.value)
    assert TRAIN_IMAGES in message and expected in message and actual in message
    assert list(folder.iterdir()) == []


def test_download_error_is_one_line_with_each_mirrors_reason(tmp_path, server):
    missing = server.url + "missing/"
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(data.DownloadError) as info:
        data.download_file(TRAIN_IMAGES, folder, mirrors=[CLOSED, missing])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"could not download {TRAIN_IMAGES} (127.0.0.1:1: Connection refused")
    assert f"{urlsplit(missing).netloc}: HTTP 404 File not found)" in message
    assert list(folder.iterdir()) == []


def test_download_error_says_how_to_use_local_files(tmp_path):
    with pytest.raises(data.DownloadError) as info:
        data.download_file(TRAIN_IMAGES, tmp_path, mirrors=[CLOSED])
    assert "pass --data-dir DIR or set $MNIST_DATA to a folder holding" in str(info.value)


def test_download_error_gives_a_reason_shared_by_every_mirror_once(tmp_path):
    with pytest.raises(data.DownloadError) as info:
        data.download_file(TRAIN_IMAGES, tmp_path, mirrors=[CLOSED, "http://127.0.0.1:2/"])
    assert f"{TRAIN_IMAGES} (all 2 mirrors: Connection refused)" in str(info.value)


def test_download_removes_temporary_files_of_killed_downloads(tmp_path, server, monkeypatch):
    serve_split(server, monkeypatch)
    folder = tmp_path / "data"
    folder.mkdir()
    stale = folder / f".{TRAIN_IMAGES}.0123abcd.tmp"
    stale.write_bytes(b"half a download")
    os.utime(stale, (0, 0))
    data.download_file(TRAIN_IMAGES, folder, mirrors=[server.url])
    assert [p.name for p in folder.iterdir()] == [TRAIN_IMAGES]


def test_load_uses_the_module_mirrors_when_none_are_given(tmp_path, server, monkeypatch):
    images, _ = serve_split(server, monkeypatch)
    cache(tmp_path, monkeypatch)
    monkeypatch.setattr(data, "MIRRORS", (server.url,))
    np.testing.assert_array_equal(data.load("train")[0], images)


# where the data folder is


def test_a_data_dir_that_does_not_exist_is_an_error_and_is_not_created(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"mnsit, given by --data-dir .*does not exist"):
        data.load("train", tmp_path / "mnsit", mirrors=[CLOSED])
    assert not (tmp_path / "mnsit").exists()


def test_an_mnist_data_folder_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "mnsit"))
    with pytest.raises(FileNotFoundError, match=r"mnsit, given by \$MNIST_DATA, does not exist"):
        data.load("train", mirrors=[CLOSED])
    assert not (tmp_path / "mnsit").exists()


def test_a_data_dir_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"file, given by --data-dir .* not a folder"):
        data.load("train", tmp_path / "file")


def test_the_default_cache_folder_is_created_for_a_download(tmp_path, server, monkeypatch):
    images, _ = serve_split(server, monkeypatch)
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.setattr(data, "default_data_dir", lambda: tmp_path / "cache" / "mnist")
    np.testing.assert_array_equal(data.load("train", mirrors=[server.url])[0], images)
    assert (tmp_path / "cache" / "mnist" / TRAIN_IMAGES).is_file()


def test_uncompressed_files_are_used_when_the_gz_ones_are_absent(tmp_path):
    images, labels = small_split()
    write(tmp_path / TRAIN_IMAGES.removesuffix(".gz"), idx_bytes(images), compress=False)
    write(tmp_path / TRAIN_LABELS.removesuffix(".gz"), idx_bytes(labels), compress=False)
    out_images, out_labels = data.load("train", tmp_path, mirrors=[CLOSED])
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)


def test_the_gz_file_is_preferred_when_both_are_there(tmp_path):
    images, _ = write_split(tmp_path)
    write(tmp_path / TRAIN_IMAGES.removesuffix(".gz"), b"not read", compress=False)
    np.testing.assert_array_equal(data.load("train", tmp_path, download=False)[0], images)


# what the files hold


def test_a_label_that_is_not_a_digit_is_refused_naming_the_file_and_index(tmp_path):
    images, labels = write_split(tmp_path)
    labels[[4, 6]] = [12, 10]
    write(tmp_path / TRAIN_LABELS, idx_bytes(labels))
    with pytest.raises(data.IDXError) as info:
        data.load("train", tmp_path, download=False)
    assert str(info.value) == (
        f"{tmp_path / TRAIN_LABELS}: label 12 at index 4 is not a digit 0-9 (2 such labels)"
    )


def test_an_empty_split_is_refused(tmp_path):
    write(tmp_path / TRAIN_IMAGES, idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    write(tmp_path / TRAIN_LABELS, idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(data.IDXError, match=r"images-idx3-ubyte\.gz: holds no images"):
        data.load("train", tmp_path, download=False)


# the real MNIST files (label counts from shared/mnist/README.md)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    "split, count, first, counts",
    [
        ("train", 60000, [5, 0, 4, 1, 9], TRAIN_COUNTS),
        ("test", 10000, [7, 2, 1, 0, 4], TEST_COUNTS),
    ],
)
def test_load_reads_real_mnist(real_mnist, split, count, first, counts):
    images, labels = data.load(split, data_dir=real_mnist, download=False)
    assert images.shape == (count, 28, 28) and labels.shape == (count,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert labels[:5].tolist() == first
    assert np.bincount(labels, minlength=10).tolist() == counts


@pytest.mark.parametrize("name", ["images.gz", "images"])
@pytest.mark.parametrize("dtype", ["u1", "i2", ">f4", "<f8"])
def test_write_idx_round_trips_through_read_idx(tmp_path, name, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)

    data.write_idx(tmp_path / name, array)

    np.testing.assert_array_equal(data.read_idx(tmp_path / name), array)


def test_write_idx_refuses_dtypes_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="IDX cannot hold"):
        data.write_idx(tmp_path / "x.gz", np.zeros(3, dtype=np.int64))
