"""A disk cache of NumPy arrays: one file per key under a root folder, shared by concurrent jobs.

``<root>/<key>.npz`` holds one array (``layout="array"``) or a dict of named arrays (``layout="arrays"``),
and always the key it was made for (``__key__``, a string array; never a pickle). An entry is used only
for its own key: a file holding another key (copied or moved by hand, or by anything but this cache) is a
miss, with a warning naming both keys. A key is a ``/``-separated path (``davis2016/bear/3f2a…``); characters outside
``[A-Za-z0-9._=+-]`` become ``_`` and ``.``/``..`` parts are dropped. Entries are written through
:func:`hypercon.io.atomic.atomic_path`, so a reader sees a complete file or none, and jobs computing the
same entry at once are safe (the last complete write wins; equal keys hold equal content). An entry
that cannot be read or decoded (truncated, corrupt, another layout) counts as missing: a warning,
then it is recomputed and replaced.

Entries live below a folder named after the numerical stack (``<root>/stack-<digest>/<key>``, the digest over
:func:`hypercon.stack.stack_versions`): an entry computed with another opencv or torch (DIS flow moved in
opencv 5.1) is never read by this one, so a result never mixes its stack's numbers with another's.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar, Union

import numpy as np

from hypercon.io.atomic import atomic_path
from hypercon.io.digest import record_digest
from hypercon.stack import stack_versions

log = logging.getLogger(__name__)

Arrays = Union[np.ndarray, dict[str, np.ndarray]]
T = TypeVar("T")
LAYOUTS = ("array", "arrays")
#: the member of an entry that holds its key, and the member of a one-array entry that holds the array
KEY_MEMBER, ARRAY_MEMBER = "__key__", "__array__"
#: what reading or decoding a damaged entry raises
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def safe_key(key: str) -> str:
    """``key`` as a relative path below the cache root (see the module docstring)."""
    parts = [re.sub(r"[^A-Za-z0-9._=+-]", "_", p) for p in str(key).replace("\\", "/").split("/") if p]
    parts = [p for p in parts if p not in (".", "..")]
    if not parts:
        raise ValueError(f"array cache: empty key {key!r}")
    return "/".join(parts)


@functools.lru_cache(maxsize=1)
def stack_folder() -> str:
    """``stack-<12 hex>``: this process's numerical stack, the folder its cache entries live in."""
    return f"stack-{record_digest(stack_versions())[:12]}"


class ArrayCache:
    """Arrays per key under ``root``: :meth:`load`, :meth:`save` and :meth:`get_or_compute`.

    Args:
        root: the cache folder (created on the first write).
        layout: ``"array"`` (an entry is one array) or ``"arrays"`` (a dict of named arrays).
        what: the cache's name in log messages.
    """

    def __init__(self, root: str | os.PathLike, layout: str = "array", what: str = "array cache") -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"{what}: layout must be one of {LAYOUTS}, got {layout!r}")
        self.root, self.layout, self.what = Path(root), layout, what

    def path(self, key: str) -> Path:
        return self.root / stack_folder() / f"{safe_key(key)}.npz"

    def load(self, key: str) -> Arrays | None:
        """The entry's arrays, or None when it is absent, unreadable or made for another key (logged)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                members = {name: data[name] for name in data.files}
        except UNREADABLE as exc:
            log.warning("%s entry %s unreadable (%s); recomputing", self.what, path, exc)
            return None
        made_for = str(members.pop(KEY_MEMBER)) if KEY_MEMBER in members else None
        if made_for != str(key):
            log.warning("%s entry %s was made for %s, not %r; recomputing", self.what, path,
                        repr(made_for) if made_for is not None else "no recorded key", str(key))
            return None
        if (self.layout == "array") != (ARRAY_MEMBER in members):
            log.warning("%s entry %s holds another layout (not %s); recomputing", self.what, path, self.layout)
            return None
        return members[ARRAY_MEMBER] if self.layout == "array" else members

    def save(self, key: str, arrays: Arrays) -> Path:
        """Write the entry (with its key) atomically; returns its path."""
        path = self.path(key)
        is_dict = isinstance(arrays, Mapping)
        if is_dict != (self.layout == "arrays"):
            raise TypeError(f"{self.what}: a {self.layout!r} entry holds "
                            f"{'a dict of arrays' if self.layout == 'arrays' else 'one array'}, got {type(arrays).__name__}")
        members = dict(arrays) if is_dict else {ARRAY_MEMBER: arrays}
        if KEY_MEMBER in members:
            raise ValueError(f"{self.what}: {KEY_MEMBER!r} is reserved for the entry's key")
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **members, **{KEY_MEMBER: np.asarray(str(key))})
        return path

    def get_or_compute(self, key: str, compute: Callable[[], Arrays],
                       decode: Callable[[Arrays], T] = lambda arrays: arrays) -> T:
        """``decode(arrays)`` of the stored entry; on a miss (or an entry ``decode`` rejects with one of
        :data:`UNREADABLE`) ``compute()`` is stored and ``decode`` applied to it, so a first and a later
        call return the same values."""
        arrays = self.load(key)
        if arrays is not None:
            try:
                return decode(arrays)
            except UNREADABLE as exc:
                log.warning("%s entry %s unusable (%s); recomputing", self.what, self.path(key), exc)
        arrays = compute()
        self.save(key, arrays)
        return decode(arrays)
