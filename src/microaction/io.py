"""The one way this project writes a file: to a temporary file beside the target, then renamed
over it. A reader never sees half a file, and a failure mid-write leaves the previous file as it
was and no temporary behind. A leaf module (no imports of ours)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".part"):
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path``, on any
    exception it is removed and the exception propagates. For writers that want a file name
    (video muxers); ``suffix`` lets a library infer the format from the name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None):
    """Yield an open file (text ``"w"`` or binary ``"wb"``); flushed, fsynced and renamed over
    ``path`` when the block ends without an exception."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        kw = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> None:
    with atomic_write(path) as f:
        f.write(text)


def write_json(path: str | Path, obj, indent: int | None = 1) -> None:
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def save_npy(path: str | Path, array) -> None:
    import numpy as np

    with atomic_write(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
