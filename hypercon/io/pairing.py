"""Pairing the files of one video across folders (frames with masks, outputs with sources) by name.

The rule: a file's *number* is the last run of digits in its name without the extension
(``00012.png`` → 12, ``mask_0012.jpg`` → 12, ``cam2_f7.png`` → 7).

* When every name in both lists carries a number, files pair by number, whatever the zero padding, prefix
  or extension: frame ``00002.jpg`` pairs with mask ``00002.png`` or ``m2.png``. A frame without a partner, a
  partner without a frame, or two files with one number is an :class:`~hypercon.errors.InputError` naming
  the file.
* When some name carries no number, files pair in natural order (:func:`hypercon.io.frames.natural_key`)
  and the counts must agree; there is no name to check, so keep such folders in step by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypercon.errors import InputError


def frame_number(path: Path) -> int | None:
    """The last number in ``path``'s name without its extension, or None."""
    found = re.findall(r"\d+", Path(path).stem)
    return int(found[-1]) if found else None


def _by_number(files: list[Path], what: str) -> dict[int, Path]:
    numbered: dict[int, Path] = {}
    for path in files:
        number = frame_number(path)
        if number in numbered:
            raise InputError(f"{numbered[number]} and {path} both carry number {number}: keep one {what} per frame")
        numbered[number] = path
    return numbered


def pair_by_name(frames: list[Path], others: list[Path], what: str) -> list[Path]:
    """``others`` in the order of ``frames``, one per frame, paired by the rule of the module docstring.

    Args:
        frames: the video's frame files, in order.
        others: the files to pair with them (masks, another folder's frames).
        what: their name in messages (``"mask"``, ``"--source frame"``).

    Raises:
        InputError: one line naming the frame without a partner, the extra file, or two files with one number.
    """
    frames, others = [Path(p) for p in frames], [Path(p) for p in others]
    if any(frame_number(p) is None for p in [*frames, *others]):
        if len(frames) != len(others):
            folder = others[0].parent if others else "its folder"
            raise InputError(f"{folder}: {len(others)} {what} file(s) for {len(frames)} frames (names without "
                             "numbers pair in order: need exactly one per frame)")
        return others
    mine, theirs = _by_number(frames, "frame"), _by_number(others, what)
    for number, frame in mine.items():
        if number not in theirs:
            folder = others[0].parent if others else "its folder"
            raise InputError(f"{folder}: no {what} for frame {frame.name} (files pair by the number in their "
                             f"names: expected one numbered {number})")
    extra = sorted(set(theirs) - set(mine))
    if extra:
        raise InputError(f"{what} file {theirs[extra[0]]} matches no frame (no frame numbered {extra[0]} in "
                         f"{frames[0].parent}): remove it, or add its frame")
    return [theirs[number] for number in mine]
