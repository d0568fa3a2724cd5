"""Progress bars for long loops: tqdm on a terminal, quiet (log lines only) otherwise."""

from __future__ import annotations

import sys
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, enabled: bool | None = None) -> Iterable[T]:
    """Wrap ``items`` in a tqdm bar when ``enabled`` (default: only when stderr is a TTY)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(items, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)
