"""``python -m metrics …``: see :mod:`metrics.cli`."""

import sys

from metrics.cli import main

if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        sys.stderr.write(f"python -m metrics: error: {exc}\n")
        sys.exit(2)
