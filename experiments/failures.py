"""How a run treats a video that raised: its one-line reason, its failed record, and the disk refusals that
stop the run.

* Bad input (a :class:`hypercon.errors.UserError`, or an ``OSError`` about one video's files): the video is
  recorded as failed with its one-line reason and the run goes on.
* A file system that refuses every write (:func:`hypercon.errors.find_disk_refusal`: full, quota, read-only)
  stops the run: the next video would fail the same way. Records written before are kept, and the run ends
  with one line (:func:`refused_write`) naming the path, what happened and what to do.
* Recording a failure is best effort: on a disk that refuses writes, the missing record already means "not
  complete" (the next run retries the video), so the original error is the one reported, never a chain.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Callable

from experiments.store import RunStore
from hypercon.errors import UserError, WriteRefused, one_line, os_error_line

log = logging.getLogger(__name__)

#: what to do about a refused write, by errno (the default: make the folder writable)
ADVICE = {errno.ENOSPC: "free space on that disk", errno.EDQUOT: "free space within your quota",
          errno.EROFS: "remount it read-write"}


def failure_reason(exc: BaseException, expected: BaseException | None) -> str:
    """The one-line reason recorded for a failed video: the user error's message, an ``OSError`` as
    ``PATH: what happened (ERRNO)``, else (a bug) the exception's type and message."""
    if isinstance(expected, UserError):
        return one_line(expected)
    if isinstance(expected, OSError):
        return os_error_line(expected)
    return f"{type(exc).__name__}: {one_line(exc)}"


def record_failure(store: RunStore, video: str, config_hash: str, reason: str,
                   write_provenance: Callable[[], None]) -> None:
    """Write ``video``'s failed record (and the run's provenance, with the first thing written); a file
    system that refuses is logged, never raised over the failure being recorded."""
    try:
        write_provenance()
        store.save_failed(video, config_hash, reason)
    except OSError as exc:
        log.warning("%s: the failure could not be recorded (%s); the next run retries the video", video,
                    os_error_line(exc))


def refused_write(exc: OSError, output_dir: Path, finished: int) -> WriteRefused:
    """The one line that ends a run whose output a file system refused: the path, what happened, what was
    kept and what to do."""
    advice = ADVICE.get(exc.errno, "make it writable")
    kept = f"{finished} video(s) finished; their records are kept in {output_dir}" if finished else "no video finished"
    return WriteRefused(f"{os_error_line(exc)}: the run stopped ({kept}); {advice}, or set paths.output_root (outputs) or "
                        "paths.cache_dir (caches) to another disk, then run the same command again "
                        "(finished videos are skipped)")
