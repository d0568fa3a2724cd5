"""Test helper (run as a script): ``python tests/refuse_writes.py ERRNO run.py ARGS…`` runs ``run.py`` in this
process with the file system refusing writes, as a full or remounted disk does, from the moment the first
video's record is written: ``os.replace`` (every atomic write) raises ``OSError(ERRNO)`` naming its file, and
the log file handlers' flush raises it too."""

from __future__ import annotations

import errno
import logging
import os
import runpy
import sys

CODE = getattr(errno, sys.argv[1])
REFUSING = []
real_replace, real_flush = os.replace, logging.StreamHandler.flush


def replace(src, dst, *args, **kwargs):
    if REFUSING:
        raise OSError(CODE, os.strerror(CODE), str(src))
    real_replace(src, dst, *args, **kwargs)
    if str(dst).endswith("metrics.json"):
        REFUSING.append(dst)


def flush(handler: logging.StreamHandler) -> None:
    if REFUSING and isinstance(handler, logging.FileHandler):
        raise OSError(CODE, os.strerror(CODE))
    real_flush(handler)


if __name__ == "__main__":
    os.replace, logging.StreamHandler.flush = replace, flush
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
