"""The job's ``run.log`` handler (``hydra.job_logging.handlers.file`` in ``conf/config.yaml``).

A ``logging.FileHandler`` whose disk refuses a write (full, read-only, no permission) prints logging's
"--- Logging error ---" report, a traceback and the record's arguments, for EVERY later message: a
50-line dump around the one line that says what went wrong. :class:`RunLogHandler` instead stops writing
to the file at the first refusal and says so once, as a warning on the console; the run goes on (its own
writes report their errors) and the traceback hint of the final error line no longer points to the log.
Any other error in a handler (a message whose arguments do not match its format: a bug) keeps logging's
report.
"""

from __future__ import annotations

import logging
import sys

from hypercon.errors import os_error_line

log = logging.getLogger(__name__)


class RunLogHandler(logging.FileHandler):
    """``logging.FileHandler`` that stops at the first ``OSError`` writing its file, with one warning.

    Attributes:
        refused: the ``OSError`` that stopped it, or None while the file is written.
    """

    refused: OSError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.refused is not None:
            return
        try:
            super().emit(record)  # opening the file (delay=True) is outside logging's own try
        except OSError:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        if exc.filename is None:
            exc.filename = self.baseFilename
        self.refused = exc
        try:
            self.close()
        except OSError:  # closing flushes what the disk refused: the file keeps what it had
            pass
        log.warning("the run log could not be written (%s): it stops here; the console keeps the messages",
                    os_error_line(exc))
