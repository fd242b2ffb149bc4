import io
import os
import pathlib
import pickle
import re
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import autograd as ag
import nn


def checkpoint() -> dict:
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU(), nn.Linear(3, 2, rng=rng))
    return {
        "model": model.state_dict(),
        "optimizer": {"hyperparameters": {"lr": 0.01, "betas": (0.9, 0.999)}, "state": {}},
        "epoch": 3,
        "name": "mlp",
        "history": rng.standard_normal(5),
        "flags": np.array([True, False]),
        "counts": np.arange(6, dtype=np.int16).reshape(2, 3).T,  # not contiguous
    }


def assert_identical(loaded, saved) -> None:
    assert isinstance(loaded, dict) and list(loaded) == list(saved)
    for key, value in saved.items():
        if isinstance(value, dict):
            assert_identical(loaded[key], value)
        else:
            expected = np.asarray(value)
            assert loaded[key].dtype == expected.dtype and loaded[key].shape == expected.shape
            assert loaded[key].tobytes() == expected.tobytes()


def test_round_trip_is_bit_exact_and_keeps_the_nesting(tmp_path):
    saved = checkpoint()

    nn.save(saved, tmp_path / "checkpoint.npz")
    loaded = nn.load(tmp_path / "checkpoint.npz")

    assert_identical(loaded, saved)


def test_scalars_come_back_as_0d_arrays(tmp_path):
    nn.save({"epoch": 3, "lr": 0.5, "name": "mlp", "done": True}, tmp_path / "c.npz")

    loaded = nn.load(tmp_path / "c.npz")

    assert all(value.shape == () for value in loaded.values())
    assert int(loaded["epoch"]) == 3 and float(loaded["lr"]) == 0.5
    assert loaded["name"].item() == "mlp" and loaded["done"].item() is True


def test_the_file_is_npz_with_names_joined_by_a_slash(tmp_path):
    nn.save({"model": {"0.weight": np.ones(2)}, "epoch": 1}, tmp_path / "c.npz")

    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        assert archive.files == ["model/0.weight", "epoch"]


def test_a_model_state_dict_saved_alone_loads_into_the_model(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    nn.save(model.state_dict(), tmp_path / "model.npz")
    other = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))

    other.load_state_dict(nn.load(tmp_path / "model.npz"))

    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_empty_dicts_and_tensors_are_kept(tmp_path):
    nn.save({"state": {}, "extra": {"inner": {}}, "t": ag.tensor([1.0])}, tmp_path / "c.npz")

    loaded = nn.load(tmp_path / "c.npz")

    assert loaded["state"] == {} and loaded["extra"] == {"inner": {}}
    assert loaded["t"].dtype == np.float32


@pytest.mark.parametrize("key", ["a/b", "", 3])
def test_keys_that_cannot_be_joined_are_refused(key, tmp_path):
    with pytest.raises(ValueError, match="keys must be non-empty strings without '/'"):
        nn.save({"model": {key: np.zeros(1)}}, tmp_path / "c.npz")

    assert not (tmp_path / "c.npz").exists()


@pytest.mark.parametrize("value", [None, object(), [1, "a", None]], ids=repr)
def test_values_that_would_need_pickling_are_refused(value, tmp_path):
    with pytest.raises(TypeError, match="'x' is a .* store only by pickling"):
        nn.save({"x": value}, tmp_path / "c.npz")


def test_names_like_savez_arguments_are_fine(tmp_path):
    nn.save({"file": np.ones(1), "allow_pickle": np.zeros(1)}, tmp_path / "c.npz")

    assert list(nn.load(tmp_path / "c.npz")) == ["file", "allow_pickle"]


# ----- untrusted files -----


class Payload:
    """Unpickling this touches `marker`: what a hostile file could do."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def hostile_npz(path: pathlib.Path, marker: pathlib.Path) -> None:
    np.savez(path, weights=np.ones(3), evil=np.array([Payload(marker)], dtype=object))


def test_the_hostile_file_really_runs_code_when_unpickled(tmp_path):
    hostile_npz(tmp_path / "evil.npz", tmp_path / "MARKER")

    np.load(tmp_path / "evil.npz", allow_pickle=True)["evil"]  # what nn.load must never do

    assert (tmp_path / "MARKER").exists()


def test_a_file_holding_python_objects_is_refused_without_running_them(tmp_path):
    hostile_npz(tmp_path / "evil.npz", tmp_path / "MARKER")

    with pytest.raises(ValueError, match="'evil' .* holds Python objects; refusing to unpickle"):
        nn.load(tmp_path / "evil.npz")

    assert not (tmp_path / "MARKER").exists()


def test_a_plain_pickle_is_refused_without_running_it(tmp_path):
    (tmp_path / "evil.npz").write_bytes(pickle.dumps(Payload(tmp_path / "MARKER")))

    with pytest.raises(ValueError, match="not an .npz archive but a pickle; refusing to unpickle"):
        nn.load(tmp_path / "evil.npz")

    assert not (tmp_path / "MARKER").exists()


def test_a_single_npy_array_is_not_a_state_dict(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))

    with pytest.raises(ValueError, match=r"a\.npy holds a single array \(\.npy\), not an \.npz"):
        nn.load(tmp_path / "a.npy")


# ----- damaged and hostile files: one ValueError naming the file and the problem -----


def npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    """The bytes of a .npy header claiming an array of `shape`, without its data."""
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)  # the magic string, then the header
    return buffer.getvalue()


def zip_with(path: pathlib.Path, entries: dict[str, bytes], compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def test_an_empty_file_is_named_as_empty(tmp_path):
    (tmp_path / "ck.npz").write_bytes(b"")

    with pytest.raises(ValueError, match=r"ck\.npz is empty \(0 bytes\), not an \.npz archive"):
        nn.load(tmp_path / "ck.npz")


@pytest.mark.parametrize(
    "content",
    [np.random.default_rng(0).bytes(1000), b'{"epoch": 3}\n', b"PK"],
    ids=["random-bytes", "json", "two-bytes"],
)
def test_a_file_that_is_no_zip_is_not_an_npz_archive(tmp_path, content):
    (tmp_path / "ck.npz").write_bytes(content)

    with pytest.raises(ValueError, match=r"ck\.npz is not an \.npz archive: it starts with"):
        nn.load(tmp_path / "ck.npz")


def test_a_zip_of_other_files_is_not_an_npz_archive(tmp_path):
    zip_with(tmp_path / "ck.npz", {"notes.txt": b"hello"})

    with pytest.raises(ValueError, match=r"ck\.npz is a zip .* not an \.npz: .*'notes\.txt'"):
        nn.load(tmp_path / "ck.npz")


def test_an_entry_without_a_valid_npy_header_is_named(tmp_path):
    zip_with(tmp_path / "ck.npz", {"w.npy": b"not an array"})

    with pytest.raises(ValueError, match=r"entry 'w' of .*ck\.npz has no valid \.npy header"):
        nn.load(tmp_path / "ck.npz")


def test_an_entry_shorter_than_its_header_says_is_named(tmp_path):
    zip_with(tmp_path / "ck.npz", {"w.npy": npy_header((10,)) + bytes(79)})

    with pytest.raises(ValueError, match=r"entry 'w' .* holds only 79 of the 80 bytes"):
        nn.load(tmp_path / "ck.npz")


@pytest.mark.parametrize(
    "shape, problem",
    [
        ((-1,), "has a negative dimension"),
        ((3, -2), "has a negative dimension"),
        ((0, 10**30), "is larger than NumPy can address"),
        ((0, 2**62, 4), "is larger than NumPy can address"),
        ((1,) * 65, "has 65 dimensions, more than NumPy's 64"),
    ],
    ids=["negative", "negative-second", "huge-with-a-zero", "huge-product-with-a-zero", "65-dims"],
)
def test_a_header_shape_no_array_can_have_is_named(tmp_path, shape, problem):
    zip_with(tmp_path / "ck.npz", {"w.npy": npy_header(shape)})

    header = r"entry 'w' of .*ck\.npz has no valid \.npy header \(shape \(.*\) "
    with pytest.raises(ValueError, match=header + re.escape(problem) + r"\)$"):
        nn.load(tmp_path / "ck.npz")


def test_an_array_of_zero_sized_items_round_trips(tmp_path):
    empty_items = np.zeros(3, dtype=[("a", "<f8", (0,))])
    nn.save({"w": empty_items}, tmp_path / "ck.npz")

    loaded = nn.load(tmp_path / "ck.npz")["w"]

    assert loaded.dtype == empty_items.dtype and loaded.shape == (3,)


def peak_bytes_of(function, *args, **kwargs) -> int:
    """The most memory Python allocated while `function` ran (it may raise)."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
    except ValueError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    seven_tib = (7 * 1024**4 // 8,)
    zip_with(tmp_path / "ck.npz", {"w.npy": npy_header(seven_tib)})

    with pytest.raises(ValueError, match=r"entry 'w' .* float64 array of 7\.0 TiB, more than"):
        nn.load(tmp_path / "ck.npz")

    assert peak_bytes_of(nn.load, tmp_path / "ck.npz") < 1024**2


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path):
    np.savez_compressed(tmp_path / "bomb.npz", w=np.zeros(8 * 1024**2))  # 64 MiB in 64 KiB
    assert (tmp_path / "bomb.npz").stat().st_size < 1024**2

    with pytest.raises(ValueError, match=r"64\.0 MiB, more than the 1\.0 MiB left of max_bytes"):
        nn.load(tmp_path / "bomb.npz", max_bytes=1024**2)

    assert peak_bytes_of(nn.load, tmp_path / "bomb.npz", max_bytes=1024**2) < 1024**2


def test_an_entry_inflating_beyond_its_header_is_refused_without_inflating_it(tmp_path):
    lying = npy_header((10,)) + bytes(16 * 1024**2)  # says 80 bytes, holds 16 MiB
    zip_with(tmp_path / "ck.npz", {"w.npy": lying}, compression=zipfile.ZIP_DEFLATED)

    with pytest.raises(ValueError, match=r"entry 'w' .* holds more than the 80 bytes its header"):
        nn.load(tmp_path / "ck.npz")

    assert peak_bytes_of(nn.load, tmp_path / "ck.npz") < 1024**2


def test_max_bytes_bounds_all_entries_together(tmp_path):
    nn.save({"a": np.zeros(100), "b": np.zeros(100)}, tmp_path / "ck.npz")  # 800 bytes each

    assert list(nn.load(tmp_path / "ck.npz", max_bytes=1600)) == ["a", "b"]
    with pytest.raises(ValueError, match=r"entry 'b' .* more than the 799 B left of max_bytes"):
        nn.load(tmp_path / "ck.npz", max_bytes=1599)


def test_the_default_limit_is_two_gib():
    assert nn.serialization.MAX_BYTES == 2 * 1024**3


def test_loaded_arrays_are_writable(tmp_path):
    nn.save({"w": np.zeros(3)}, tmp_path / "ck.npz")

    loaded = nn.load(tmp_path / "ck.npz")["w"]
    loaded += 1

    np.testing.assert_array_equal(loaded, np.ones(3))


@pytest.mark.parametrize("order", [["a.npy", "a/b.npy"], ["a/b.npy", "a.npy"]])
def test_a_name_holding_both_a_value_and_a_dict_is_refused(tmp_path, order):
    array = io.BytesIO()
    np.save(array, np.ones(1))
    zip_with(tmp_path / "ck.npz", {name: array.getvalue() for name in order})

    with pytest.raises(ValueError, match=r"ck\.npz has both a value and a dict"):
        nn.load(tmp_path / "ck.npz")


# ----- atomic writes -----


@pytest.mark.parametrize("crash", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
def test_a_crash_mid_write_leaves_the_previous_file_intact(crash, tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    previous = checkpoint()
    nn.save(previous, path)
    write_array = np.lib.format.write_array
    written = []

    def crashing_write_array(file, array, *args, **kwargs):
        if written:  # the first array goes out whole, then the "machine" dies
            file.write(b"\x93NUMPY partial")
            raise crash
        written.append(write_array(file, array, *args, **kwargs))

    monkeypatch.setattr(np.lib.format, "write_array", crashing_write_array)
    newer = {"model": {name: value + 1 for name, value in previous["model"].items()}}

    with pytest.raises(type(crash)):
        nn.save(newer, path)

    monkeypatch.undo()
    assert_identical(nn.load(path), previous)
    assert os.listdir(tmp_path) == ["checkpoint.npz"]  # no temporary file left behind


def test_a_crash_before_the_first_save_leaves_no_file(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", crash)

    with pytest.raises(OSError):
        nn.save({"x": np.ones(2)}, tmp_path / "c.npz")

    assert os.listdir(tmp_path) == []


def test_save_replaces_an_existing_file_and_respects_the_umask(tmp_path):
    path = tmp_path / "c.npz"
    nn.save({"x": np.zeros(2)}, path)

    nn.save({"x": np.ones(2)}, str(path))

    np.testing.assert_array_equal(nn.load(path)["x"], np.ones(2))
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_writes_the_whole_text(tmp_path):
    nn.atomic_write(tmp_path / "metrics.json", '{"accuracy": 0.98}\n')

    assert (tmp_path / "metrics.json").read_text() == '{"accuracy": 0.98}\n'


def test_a_truncated_file_is_named_as_damaged(tmp_path):
    path = tmp_path / "ck.npz"
    nn.save({"w": np.arange(1000.0)}, path)
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(ValueError, match=r"ck\.npz is a damaged \.npz archive"):
        nn.load(path)


# ----- temporary files left by killed writers -----


def leftover(folder: pathlib.Path, target: str, hex_id: str, age_s: float) -> pathlib.Path:
    """A temporary file as a writer killed `age_s` seconds ago would have left it."""
    path = folder / f".{target}.{hex_id}.tmp"
    path.write_bytes(b"partial")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def finished_process_id() -> int:
    """The id of a process that has run and ended (so no process has it now)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_a_save_removes_temporary_files_of_killed_writes_to_the_same_path(tmp_path):
    stale = leftover(tmp_path, "ck.npz", "0123abcd", age_s=3600)

    nn.save({"x": np.ones(1)}, tmp_path / "ck.npz")

    assert not stale.exists()


def test_a_save_removes_a_fresh_temporary_file_whose_writer_no_longer_runs(tmp_path):
    dead = leftover(tmp_path, "ck.npz", f"{finished_process_id()}-0123abcd", age_s=0)
    unnamed = leftover(tmp_path, "ck.npz", "4567cdef", age_s=0)  # no writer id in its name

    nn.save({"x": np.ones(1)}, tmp_path / "ck.npz")

    assert not dead.exists() and not unnamed.exists()


def test_a_recent_temporary_file_of_a_running_writer_is_kept(tmp_path):
    live = leftover(tmp_path, "ck.npz", f"{os.getpid()}-0123abcd", age_s=10)

    nn.save({"x": np.ones(1)}, tmp_path / "ck.npz")

    assert live.exists()


def test_the_temporary_file_of_a_running_writer_untouched_for_long_is_removed(tmp_path):
    stuck = leftover(tmp_path, "ck.npz", f"{os.getpid()}-0123abcd", age_s=3600)

    nn.save({"x": np.ones(1)}, tmp_path / "ck.npz")

    assert not stuck.exists()


def test_temporary_files_of_other_targets_are_kept(tmp_path):
    other = leftover(tmp_path, "other.npz", "0123abcd", age_s=3600)
    unlike = leftover(tmp_path, "ck.npz", "not-hex!", age_s=3600)

    nn.atomic_write(tmp_path / "ck.npz", b"data")

    assert other.exists() and unlike.exists()
