"""``python -m metrics …``: see :mod:`metrics.cli`."""

import sys

from hypercon.errors import EXIT_USER_ERROR, UserError, one_line
from metrics.cli import main

if __name__ == "__main__":
    try:
        main()
    except (UserError, OSError, ValueError) as exc:  # bad input, a path that cannot be read or written
        sys.stderr.write(f"python -m metrics: error: {one_line(exc)}\n")
        sys.exit(EXIT_USER_ERROR)
