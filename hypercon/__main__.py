"""``python -m hypercon apply …`` / ``evaluate …``: see :mod:`hypercon.cli`."""

import sys

from hypercon.cli import main
from hypercon.errors import EXIT_USER_ERROR, find_expected_error, one_line

if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # bad input or setting (also inside Hydra's instantiate): one line, exit 2
        expected = find_expected_error(exc)
        if expected is None:
            raise
        sys.stderr.write(f"python -m hypercon: error: {one_line(expected)}\n")
        sys.exit(EXIT_USER_ERROR)
