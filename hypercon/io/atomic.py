"""Atomic file writes: write to a private temporary file in the target's folder, then ``os.replace``.

A killed process never leaves a half-written file under the final name, and concurrent writers of the same
file are safe (the last complete one wins). Every writer in the harness goes through :func:`atomic_path`.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success it replaces ``path``.

    On an exception (or KeyboardInterrupt) the temporary file is removed and ``path`` is untouched. An
    ``OSError`` about the temporary file (a full disk, a read-only remount) is raised again naming ``path``,
    the file the caller asked for, not the hidden temporary name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno is None or exc.filename not in (None, str(tmp), tmp):
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    finally:
        _remove_quietly(tmp)


def _remove_quietly(tmp: Path) -> None:
    """Remove a leftover temporary file; a file system that refuses (read-only now) leaves it, logged, so the
    error the caller sees stays the one that stopped the write."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not remove the temporary file %s: %s", tmp, exc)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
