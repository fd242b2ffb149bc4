"""Writing files atomically: a reader sees the old file or the new one, never a part.

Every file this project writes (checkpoints, metrics, drawings, pages, downloads)
goes through here. It is written under a temporary name beside the target,
`.{name}.{pid}-{hex}.tmp` (the writer's process id, then a random part), synced,
then renamed. A process killed mid-write leaves its temporary file behind; the
next write to the same target removes it: at once when no process with that id
runs any more (or the name has no id), else once it is untouched for
`STALE_TEMPORARY_S` (a live writer touches its file with every write).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import IO, Any

STALE_TEMPORARY_S = 600  # a temporary file untouched this long has no live writer

PathLike = str | os.PathLike


def atomic_write(path: PathLike, content: bytes | str) -> None:
    """Write `content` (str as UTF-8) to `path` atomically."""
    data = content.encode() if isinstance(content, str) else content
    write_atomically(path, lambda file: file.write(data))


def write_atomically(path: PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Run `write` on a temporary file beside `path`, sync it, then rename it to `path`."""
    path = os.fspath(path)
    remove_stale_temporaries(path)
    temporary = temporary_name(path)
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
        descriptor = os.open(os.path.dirname(temporary), os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def temporary_name(path: PathLike) -> str:
    """A fresh temporary file name beside `path`, as the atomic writes use them."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return os.path.join(folder, f".{os.path.basename(path)}.{token}.tmp")


def remove_stale_temporaries(path: PathLike, older_than_s: float = STALE_TEMPORARY_S) -> None:
    """Delete the temporary files of writes to `path` that were killed mid-way: those
    whose writer no longer runs, and those untouched for `older_than_s` seconds."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = re.escape(os.path.basename(path))
    pattern = re.compile(rf"\.{name}\.(?:(\d+)-)?[0-9a-f]{{8}}\.tmp")
    deadline = time.time() - older_than_s
    with os.scandir(folder) as entries:
        for entry in entries:
            match = pattern.fullmatch(entry.name)
            if not match:
                continue
            with contextlib.suppress(FileNotFoundError):  # another process was quicker
                writer = match.group(1)
                if not _running(writer) or entry.stat().st_mtime < deadline:
                    os.unlink(entry.path)


def _running(pid: str | None) -> bool:
    """Whether a process with this id may run on this machine (None: the name had no id).

    Where processes cannot be asked (not POSIX), every writer counts as running, so
    only the age of its file tells.
    """
    if pid is None:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(int(pid), 0)  # signal 0 checks, and sends nothing
    except (ProcessLookupError, OverflowError):  # no such process, or no such id
        return False
    except PermissionError:  # another user's process
        return True
    return True
