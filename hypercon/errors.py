"""Expected errors: bad input or a bad setting that the person running the harness can fix.

Raise :class:`UserError` (or a subclass) with a one-line message saying what is wrong, which file or config
key, and what to do. ``run.py`` and the command-line tools print that line and exit with code 2 (the
traceback goes to the log); every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a bad setting, with a one-line message: what, which file or key, what to do."""
