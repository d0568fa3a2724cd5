"""What a person sees on the terminal during a run or sweep: each warning once per run, and expected
errors as one line.

* :class:`OncePerRun` (a logging filter on the console handlers): a warning repeated by every job of a
  sweep or every video of a job (a metric's missing weights, "fidelity unavailable" on each frame-wise
  video) is shown the first time only; the video name in it does not make it new. ``run.log`` keeps every
  record.
* :func:`report_user_error`: the one line for a :class:`hypercon.errors.UserError` on stderr, its
  traceback into ``run.log`` (and on stderr too with ``-v`` or ``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

from hypercon.errors import UserError, log_traceback_to_files, one_line, os_error_line


class OncePerRun(logging.Filter):
    """Pass a WARNING (or higher) record the first time its message, with every registered varying word
    (video names) masked, is seen in this process; lower levels always pass."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()
        self.varying: set[str] = set()

    def forget_words(self, words) -> None:
        """Words (video names) that do not make a warning new."""
        self.varying.update(str(w) for w in words if str(w))

    def key(self, record: logging.LogRecord) -> tuple[str, str]:
        message = record.getMessage()
        for word in sorted(self.varying, key=len, reverse=True):
            message = message.replace(word, "*")
        return record.name, message

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.levelno >= logging.ERROR:
            return True
        key = self.key(record)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


ONCE = OncePerRun()


def install_once_filter() -> None:
    """Attach :data:`ONCE` to the console handlers of the root logger (Hydra re-creates them per job, so
    this is called at the start of each job; the record of what was shown lives in :data:`ONCE`)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            if ONCE not in handler.filters:
                handler.addFilter(ONCE)


def verbose() -> bool:
    """Tracebacks of expected errors on the terminal too: ``-v`` (run.py sets the variable) or
    ``HYDRA_FULL_ERROR=1``."""
    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("HYPERCON_VERBOSE") == "1"


def report_user_error(exc: BaseException, user_error: BaseException, prog: str = "run.py") -> str:
    """Print ``error: <one line>`` on stderr, the traceback to the log files; returns the line."""
    line = (one_line(user_error) if isinstance(user_error, UserError) else
            os_error_line(user_error) if isinstance(user_error, OSError) else
            f"{type(user_error).__name__}: {one_line(user_error)}")
    in_log = log_traceback_to_files(exc)
    if verbose():
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    hint = "" if verbose() else (" (traceback in run.log; -v shows it)" if in_log else " (-v shows the traceback)")
    sys.stderr.write(f"{prog}: error: {line}{hint}\n")
    sys.stderr.flush()
    return line
