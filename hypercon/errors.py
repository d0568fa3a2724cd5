"""Expected errors: bad input or a bad setting that the person running the harness can fix.

Raise :class:`UserError` (or a subclass) with a one-line message saying what is wrong, which file or config
key, and what to do. ``run.py`` and the command-line tools print that line and exit with code 2 (the
traceback goes to the log); every other exception is a bug and keeps its traceback.

The policy, in one place:

* bad input data (a corrupt image, mixed frame sizes, a 1-frame video, a mask count that does not match)
  raises :class:`InputError`; a file or folder that is not there, :class:`InputNotFound`; a bad config
  value that only a component can check, :class:`SettingError`. They also subclass ``ValueError`` /
  ``FileNotFoundError``, so callers catching those keep working.
* an ``OSError`` (disk full, a folder that cannot be written) is treated like a user error by the tools.
* a broken contract between our own functions (a tensor of the wrong shape handed to a helper) stays a
  ``ValueError``/``TypeError``: that is a bug, and its traceback is what a developer needs.
"""

from __future__ import annotations

import errno
import logging
import traceback

#: the exit status of a command-line tool that stopped on a :class:`UserError`
EXIT_USER_ERROR = 2

#: errno → what happened, for the refusals a person can act on (a full disk, a read-only remount, no permission)
REFUSALS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
#: refusals that hold for the whole file system: every later write fails the same way, so a run stops
DISK_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


class UserError(Exception):
    """Bad input or a bad setting, with a one-line message: what, which file or key, what to do."""


class InputError(UserError, ValueError):
    """Input data that cannot be used as it is (corrupt, inconsistent, too short); names the file."""


class InputNotFound(UserError, FileNotFoundError):
    """A file or folder the input needs is not there; names the path and the setting that points to it."""


class SettingError(UserError, ValueError):
    """A config value a component rejects; names the key and the values it accepts."""


def _chain(exc: BaseException | None):
    """``exc`` and its causes (``__cause__``, else ``__context__``), each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def find_user_error(exc: BaseException | None) -> UserError | None:
    """``exc`` or the first :class:`UserError` among its causes (Hydra's ``instantiate`` wraps what a
    constructor raises in an ``InstantiationException``), else None."""
    return next((e for e in _chain(exc) if isinstance(e, UserError)), None)


def find_expected_error(exc: BaseException | None) -> BaseException | None:
    """:func:`find_user_error`, or an ``OSError`` (a disk that is full, a folder that cannot be written, a
    file in the way: the environment, not the code) among ``exc`` and its causes; None for a bug."""
    return find_user_error(exc) or next((e for e in _chain(exc) if isinstance(e, OSError)), None)


def find_disk_refusal(exc: BaseException | None) -> OSError | None:
    """The first ``OSError`` among ``exc`` and its causes whose errno refuses writes on the whole file system
    (:data:`DISK_REFUSALS`: full, over quota, read-only), else None."""
    return next((e for e in _chain(exc) if isinstance(e, OSError) and e.errno in DISK_REFUSALS), None)


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (continuation lines joined with " | ")."""
    text = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__


def log_traceback_to_files(exc: BaseException, logger: logging.Logger | None = None) -> bool:
    """Write ``exc``'s traceback to the file handlers of ``logger``'s chain (``run.log`` in a Hydra job),
    not to the console. Returns whether some file received it (a handler whose disk refused the write, with
    a ``refused`` error set as :class:`experiments.run_log.RunLogHandler` does, did not)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
    record = logging.LogRecord("hypercon", logging.ERROR, __file__, 0, "%s", (text,), None)
    logger = logger or logging.getLogger()
    written = False
    while logger is not None:
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.handle(record)
                written = written or getattr(handler, "refused", None) is None
        logger = logger.parent if logger.propagate else None
    return written


def os_error_line(exc: OSError) -> str:
    """``PATH: what happened (ERRNO)`` on one line, e.g. ``/runs/x/results.json: no space left on the device
    (ENOSPC)``; an OSError without an errno gives its type and message."""
    if exc.errno is None:
        return f"{type(exc).__name__}: {one_line(exc)}"
    what = REFUSALS.get(exc.errno) or (exc.strerror or "").lower() or type(exc).__name__
    code = errno.errorcode.get(exc.errno, str(exc.errno))
    path = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else exc.filename
    return f"{path}: {what} ({code})" if path is not None else f"{what} ({code})"


class WriteRefused(UserError):
    """The file system refused a write of the run (full, read-only, no permission): names the path, what
    happened and what to do; records written before it are kept."""


class NotAFolder(UserError, NotADirectoryError):
    """A path that should be a folder (of frames, of videos) is a file."""
