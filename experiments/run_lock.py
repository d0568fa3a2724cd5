"""One run per run folder at a time: an OS lock on the folder, held for the whole run.

:func:`run_folder_lock` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<folder>/.run.lock`` (created if
missing, never deleted: deleting a lock file while another process waits on it would let two runs in). The
kernel releases the lock when the holder exits, however it exits (``kill -9`` included), so a stale lock
file never blocks a later run. The refusal of a folder holding another config's results
(:func:`experiments.run_config.check_run_dir`) runs under this lock, so it also holds when two runs start
at the same moment. POSIX only (``fcntl``); on network file systems the lock is as good as the server's
``flock`` support (NFSv4 and Linux ≥ 2.6.12 emulate it with byte-range locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from hypercon.errors import SettingError

#: the lock file's name inside the run folder (hidden: the report and the viewer skip it)
LOCK_NAME = ".run.lock"


class RunFolderBusy(SettingError):
    """Another run holds the run folder's lock."""


def _holder(path: Path) -> str:
    """``" (pid 123)"``: the process id the holder wrote into the lock file, or "" when unreadable.
    Shown in the message only; never acted on."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@contextlib.contextmanager
def run_folder_lock(folder: Path | str) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created if missing) for the ``with`` block.

    Raises:
        RunFolderBusy: one line naming the folder, when another process (or another open of the lock
            in this process) holds it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderBusy(f"{folder} is in use by another run{_holder(path)}: wait for it to finish, or "
                                "write to another folder (hydra.run.dir=…)") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
