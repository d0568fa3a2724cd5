"""DAVIS 2016 / 2017 / 2019 (Perazzi et al. 2016; Pont-Tuset et al. 2017; Caelles et al. 2019).

Layout (the official releases, as read by davisvideochallenge/davis2017-evaluation)::

    <root>/JPEGImages/<resolution>/<sequence>/00000.jpg …
    <root>/Annotations/<resolution>/<sequence>/00000.png …   (indexed PNG: 0 = background, k > 0 = object)
    <root>/ImageSets/<year>/<split>.txt                       (2017/2019 releases: one sequence name per line)
    <root>/ImageSets/<resolution>/<split>.txt                 (the DAVIS-2016 release: one line per frame,
        "/JPEGImages/480p/bear/00000.jpg /Annotations/480p/bear/00000.png"; the sequence is the folder name)

``year=2016`` reads ``ImageSets/2016/`` (as shipped inside the 2017 release) when present, else the 2016
release's ``ImageSets/<resolution>/``.

Splits: every official file name (``train``, ``val``, ``test-dev``, ``test-challenge``, …) plus the
paper's (§3.1) ``validation`` = train + val of ``ImageSets/<year>`` (falling back to ``ImageSets/2017``
when the year has no train/val lists, as for 2019) and ``test`` = ``test-dev`` + ``test-challenge``.
``all`` = every sequence under ``JPEGImages/<resolution>``, which is also used, with a warning, when the
root has no ``ImageSets`` folder (e.g. a copy holding only the DAVIS-2016 validation sequences).

Object masks (``masks=object``): any annotation label > 0 (objects, and 255 = void) is a hole;
``mask_dilation`` grows holes by that many pixels. Test splits ship only first-frame annotations, so
object masks there stop with a mask-count error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch import Tensor

from datasets.base import PAPER_SIZE, VideoDataset, require_root
from hypercon.io.frames import list_frame_files, read_frames, read_masks
from hypercon.io.pairing import pair_by_name
from hypercon.errors import InputError, InputNotFound, SettingError

log = logging.getLogger(__name__)

YEARS = (2016, 2017, 2019)
COMBINED_SPLITS = {"validation": ("train", "val"), "test": ("test-dev", "test-challenge")}
OFFICIAL_SPLITS = ("train", "val", "test-dev", "test-challenge", "trainval")
LAYOUT = "<root>/JPEGImages/480p/<sequence>/00000.jpg, <root>/Annotations/480p/<sequence>/00000.png, " \
         "<root>/ImageSets/<year>/<split>.txt (DAVIS 2016 release: <root>/ImageSets/480p/<split>.txt)"


def read_split_file(path: Path) -> list[str]:
    """Sequence names in an ImageSets file, in order of first appearance, blank lines and ``#`` comments
    skipped. A line is a sequence name (2017/2019 layout), or frame paths as in the DAVIS-2016 release
    (``/JPEGImages/480p/bear/00000.jpg /Annotations/480p/bear/00000.png``: the sequence is the frame's
    folder)."""
    names: list[str] = []
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        first = text.split()[0]
        if "/" in first:
            parts = [p for p in first.split("/") if p]
            if len(parts) < 2:
                raise InputError(f"{path}: cannot read a sequence name from line {line!r} (expected a sequence "
                                 f"name or '/JPEGImages/<resolution>/<sequence>/<frame>.jpg ...')")
            name = parts[-2]
        else:
            name = text
        if name not in names:
            names.append(name)
    return names


class DAVISDataset(VideoDataset):
    """DAVIS sequences of one split, resized/cropped to ``size`` (832×480 as in the paper).
    ``**options``: the options every dataset shares (:class:`datasets.base.VideoDataset`)."""

    object_mask_kinds = ("object",)

    def __init__(
        self,
        root: str | None,
        *,
        year: int = 2017,
        split: str = "val",
        resolution: str = "480p",
        sequences: list[str] | None = None,
        size: list[int] | tuple[int, int] | None = PAPER_SIZE,
        **options: Any,
    ):
        if int(year) not in YEARS:
            raise SettingError(f"dataset.year must be one of {YEARS}, got {year}")
        self.year = int(year)
        self.name = f"davis{self.year}"
        super().__init__(size=size, **options)
        hint = "pass dataset.root=/path/to/DAVIS or set the environment variable DAVIS_ROOT"
        self.root = require_root(root, "dataset.root", hint, LAYOUT)
        self.resolution = str(resolution)
        self.split = str(split)
        self.frames_root = self.root / "JPEGImages" / self.resolution
        if not self.frames_root.is_dir():
            raise InputNotFound(
                f"dataset.root={self.root} has no JPEGImages/{self.resolution} folder (dataset.resolution="
                f"{self.resolution!r}). Expected layout: {LAYOUT}"
            )
        self.sequences = None if sequences is None else [str(s).strip() for s in sequences]
        self._names = self._select()

    def _available(self) -> list[str]:
        return sorted(p.name for p in self.frames_root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _split_file(self, year: int, split: str) -> Path:
        """``ImageSets/<year>/<split>.txt``; for 2016 without it, the 2016 release's
        ``ImageSets/<resolution>/<split>.txt``."""
        path = self.root / "ImageSets" / str(year) / f"{split}.txt"
        release_2016 = self.root / "ImageSets" / self.resolution / f"{split}.txt"
        if year == 2016 and not path.is_file() and release_2016.is_file():
            return release_2016
        return path

    def _split_names(self, split: str) -> list[str]:
        files = []
        for part in COMBINED_SPLITS.get(split, (split,)):
            path = self._split_file(self.year, part)
            if not path.is_file() and split == "validation":
                path = self._split_file(2017, part)
            files.append(path)
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            folders = [str(self.year)] + ([self.resolution] if self.year == 2016 else [])
            have = sorted({p.stem for f in folders for p in (self.root / "ImageSets" / f).glob("*.txt")})
            raise InputError(
                f"dataset.split={split!r} (year {self.year}): missing {', '.join(missing)}; split files for "
                f"{self.year}: {have or 'none'}; combined splits: {sorted(COMBINED_SPLITS)} and 'all'"
            )
        names: list[str] = []
        for path in files:
            names.extend(n for n in read_split_file(path) if n not in names)
        return names

    def _select(self) -> list[str]:
        available = self._available()
        if not available:
            raise InputError(f"{self.frames_root} holds no sequence folders. Expected layout: {LAYOUT}")
        if self.sequences is not None:
            names = self.sequences
        elif self.split == "all":
            names = available
        elif not (self.root / "ImageSets").is_dir():
            if self.split not in (*COMBINED_SPLITS, *OFFICIAL_SPLITS):
                raise SettingError(f"dataset.split={self.split!r} is not a DAVIS split "
                                 f"({', '.join((*OFFICIAL_SPLITS, *COMBINED_SPLITS, 'all'))})")
            log.warning("%s has no ImageSets folder: using all %d sequences under %s (dataset.split=%r not applied)",
                        self.root, len(available), self.frames_root, self.split)
            names = available
        else:
            names = self._split_names(self.split)
        missing = [n for n in names if n not in available]
        if missing:
            raise InputNotFound(
                f"{len(missing)} sequence(s) of dataset.split={self.split!r} are not under {self.frames_root}: "
                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} (incomplete download?)"
            )
        return names

    def _video_names(self) -> list[str]:
        return list(self._names)

    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        folder = self.frames_root / name
        frames = read_frames(folder, self.max_frames)
        return frames, {"source": str(folder), "fps": None, "year": self.year}

    def _read_object_masks(self, name: str, frames: Tensor, meta: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        folder = self.root / "Annotations" / self.resolution / name
        masks, frames_files = list_frame_files(folder), list_frame_files(self.frames_root / name)
        if len(masks) != len(frames_files):
            raise InputError(
                f"{folder}: {len(masks)} annotation files for {len(frames_files)} frames in {self.frames_root / name}: "
                "object masks need one annotation per frame (test splits have only the first)"
            )
        masks = pair_by_name(frames_files, masks, "annotation")  # by the numbers in the names
        known = read_masks(masks, polarity="hole", threshold=0, max_frames=self.max_frames)
        return known, {"mask_source": str(folder), "mask_polarity_on_disk": "label > 0 = hole"}

    def _provenance_extra(self) -> dict[str, Any]:
        return {"root": str(self.root), "year": self.year, "split": self.split, "resolution": self.resolution,
                "sequences": self.sequences, "num_videos_in_split": len(self._names)}
