"""Refuse an output that is, or would overwrite, an input: ``python -m hypercon apply X --out X`` (an mp4 is
replaced at the end, a frame folder frame by frame while it is still being read), ``evaluate --json``,
``python -m metrics --out``, the survey's ``analyze --out`` / ``export --csv`` and the viewer's ``--out``.

Paths are compared as the file system sees them (:func:`os.path.samefile`: symbolic links, hard links, ``..``
and a different spelling of one folder all count as the same), and by their resolved form where the output
does not exist yet.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hypercon.errors import SettingError


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file or folder (through any link or spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return Path(a).resolve() == Path(b).resolve()


def overwrites(out: str | os.PathLike, inp: str | os.PathLike, out_is_folder: bool = False) -> bool:
    """Whether writing ``out`` would replace ``inp``: the same path, or (``out_is_folder``: files are written
    into ``out``) an input file that lies directly in that folder."""
    if same_path(out, inp):
        return True
    return out_is_folder and Path(inp).is_file() and same_path(Path(inp).parent, out)


def refuse_overwrite(outputs: Mapping[str, str | os.PathLike | None], inputs: Mapping[str, str | os.PathLike | None],
                     folders: frozenset[str] = frozenset()) -> None:
    """SettingError naming both options and paths if an output of ``outputs`` (option → path; None: not given)
    would overwrite an input of ``inputs``; ``folders``: the outputs written as folders of files."""
    for out_key, out in outputs.items():
        for in_key, inp in inputs.items():
            if out is not None and inp is not None and overwrites(out, inp, out_key in folders):
                raise SettingError(f"{out_key} {out} is, or would overwrite, the input {in_key} {inp}: "
                                   "write the output somewhere else")
