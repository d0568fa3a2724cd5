"""Issue 26 item 2: frames and their masks (and, in ``python -m metrics``, the other folders of a video)
are paired by the numbers in their names, not by position. A missing or extra file is one line naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets.folder import FolderDataset
from hypercon.errors import InputError
from hypercon.io.pairing import frame_number, pair_by_name


def write_pngs(folder: Path, numbers: list[int], value=None, name: str = "{:05d}.png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        level = (n * 40) % 256 if value is None else value
        Image.fromarray(np.full((16, 24, 3), level, np.uint8)).save(folder / name.format(n))


def test_frame_number_is_the_last_number_in_the_name():
    assert frame_number(Path("00003.png")) == 3 and frame_number(Path("mask_0012.jpg")) == 12
    assert frame_number(Path("cam2_frame10.png")) == 10 and frame_number(Path("first.png")) is None


def test_pair_by_name_reorders_and_names_a_missing_or_extra_file(tmp_path):
    frames = [tmp_path / f"{n:05d}.jpg" for n in range(4)]
    masks = [tmp_path / f"m{n}.png" for n in (3, 1, 0, 2)]
    assert pair_by_name(frames, masks, "mask") == [masks[2], masks[1], masks[3], masks[0]]
    shifted = [tmp_path / f"{n:05d}.png" for n in (0, 1, 3, 4)]
    with pytest.raises(InputError, match=r"no mask for frame 00002\.jpg") as caught:
        pair_by_name(frames, shifted, "mask")
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError, match=r"00004\.png.*matches no frame"):
        pair_by_name(frames, [tmp_path / f"{n:05d}.png" for n in range(5)], "mask")
    with pytest.raises(InputError, match="both"):
        pair_by_name(frames, [*masks, tmp_path / "x0003.png"], "mask")


def test_names_without_numbers_pair_in_order_when_the_counts_agree(tmp_path):
    frames = [tmp_path / name for name in ("a.png", "b.png")]
    masks = [tmp_path / name for name in ("first.png", "second.png")]
    assert pair_by_name(frames, masks, "mask") == masks
    with pytest.raises(InputError, match="1 mask file.* 2 frames"):
        pair_by_name(frames, masks[:1], "mask")


def test_folder_dataset_refuses_masks_paired_off_by_one(tmp_path):
    write_pngs(tmp_path / "videos" / "clip", [0, 1, 2, 3])
    write_pngs(tmp_path / "masks" / "clip", [0, 1, 3, 4], value=255)
    ds = FolderDataset(str(tmp_path / "videos"), masks_root=str(tmp_path / "masks"), masks="folder")
    with pytest.raises(InputError, match=r"no mask for frame 00002\.png"):
        ds.load("clip")


def test_folder_dataset_pairs_masks_by_number_not_position(tmp_path):
    write_pngs(tmp_path / "videos" / "clip", [0, 1, 2])
    masks = tmp_path / "masks" / "clip"
    masks.mkdir(parents=True)
    for prefix, n in (("a", 2), ("b", 0), ("c", 1)):  # in name order: 2, 0, 1; a hole only in mask 1
        hole = np.zeros((16, 24), np.uint8)
        hole[4:8, 4:8] = 255 if n == 1 else 0
        Image.fromarray(hole).save(masks / f"{prefix}_{n}.png")
    known = FolderDataset(str(tmp_path / "videos"), masks_root=str(tmp_path / "masks"), masks="folder",
                          mask_polarity="hole").load("clip").known
    assert known[1].min() == 0 and known[0].min() == 1 and known[2].min() == 1


def test_metrics_cli_refuses_mismatched_frame_names(tmp_path):
    from metrics.cli import main

    write_pngs(tmp_path / "pred" / "v", [0, 1, 2, 3])
    write_pngs(tmp_path / "src" / "v", [0, 1, 3, 4])
    with pytest.raises(InputError, match=r"no --source frame for frame 00002\.png"):
        main(["--pred", str(tmp_path / "pred"), "--source", str(tmp_path / "src"), "--metrics", "cssim",
              "--out", str(tmp_path / "o.json")])


def test_apply_pairs_a_frame_folder_with_its_masks_by_name(tmp_path):
    from hypercon.apply import open_input

    write_pngs(tmp_path / "in", [0, 1, 2, 3])
    write_pngs(tmp_path / "masks", [0, 1, 3, 4], value=255)
    with pytest.raises(InputError, match=r"no --mask mask for frame 00002\.png"):
        open_input(tmp_path / "in", tmp_path / "masks")
    write_pngs(tmp_path / "named", [3, 0, 2, 1], name="m_{}.png")
    assert [p.name for p in open_input(tmp_path / "in", tmp_path / "named").mask_files] == \
        ["m_0.png", "m_1.png", "m_2.png", "m_3.png"]
