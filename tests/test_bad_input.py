"""Dataset-level bad input: each stops with an error naming the file or setting (or warns, for colour modes)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.activitynet import ActivityNetDataset
from datasets.davis import DAVISDataset
from datasets.folder import FolderDataset
from datasets.synthetic import SyntheticDataset
from hypercon.io.video import write_video


def _clip(folder, n=3, size=(12, 8), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(n):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], len(mode))
        Image.fromarray(np.full(shape, 20 * t + 10, np.uint8), mode=mode).save(folder / f"{t:05d}.png")
    return folder


# ---- missing roots / settings -------------------------------------------------------------------------

def test_davis_root_unset_names_setting_env_and_layout():
    with pytest.raises(ValueError, match=r"dataset\.root is not set.*DAVIS_ROOT.*JPEGImages/480p"):
        DAVISDataset(None)


def test_davis_root_missing_or_wrong_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dataset\.root=.*nowhere does not exist"):
        DAVISDataset(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"no JPEGImages/480p"):
        DAVISDataset(str(tmp_path))


def test_folder_root_missing(tmp_path):
    with pytest.raises(ValueError, match=r"dataset\.root is not set"):
        FolderDataset(None)
    with pytest.raises(FileNotFoundError, match=r"dataset\.root=.*missing.*HYPERCON_DATA"):
        FolderDataset("missing", data_root=str(tmp_path))


def test_activitynet_manifest_unset_missing_or_bad(tmp_path):
    with pytest.raises(ValueError, match=r"dataset\.manifest is not set"):
        ActivityNetDataset(None)
    with pytest.raises(FileNotFoundError, match=r"clips\.csv does not exist"):
        ActivityNetDataset(str(tmp_path / "clips.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,path\nx,y\n")
    with pytest.raises(ValueError, match=r"bad\.csv: missing column\(s\) \['clip_id', 'source'\]"):
        ActivityNetDataset(str(bad))
    bad.write_text("clip_id,source,start_frame,num_frames\nx,y,zero,5\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2: start_frame / num_frames must be integers"):
        ActivityNetDataset(str(bad))
    bad.write_text("clip_id,source\nx,a.mp4\nx,b.mp4\n")
    with pytest.raises(ValueError, match=r"line 3: duplicate clip_id 'x'"):
        ActivityNetDataset(str(bad))


def test_activitynet_missing_source_and_short_clip(tmp_path):
    write_video(torch.rand(4, 3, 8, 12), tmp_path / "short.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text("clip_id,source,start_frame,num_frames\ngone,none.mp4,0,3\nshort,short.mp4,2,5\n")
    ds = ActivityNetDataset(str(manifest), size=None)
    with pytest.raises(FileNotFoundError, match=r"clip 'gone': source .*none\.mp4"):
        ds.load("gone")
    too_short = r"clip 'short': .*short\.mp4 has only 2 frame\(s\) from start_frame=2.*num_frames=5"
    with pytest.raises(ValueError, match=too_short):
        ds.load("short")


# ---- frames -------------------------------------------------------------------------------------------

def test_corrupt_frame_is_named(tmp_path):
    clip = _clip(tmp_path / "clip")
    (clip / "00001.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match=r"00001\.png: unreadable or corrupt image"):
        FolderDataset(str(clip)).load("clip")


def test_truncated_jpeg_is_named(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    for t in range(2):
        Image.fromarray(np.random.default_rng(t).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(clip / f"{t}.jpg")
    data = (clip / "1.jpg").read_bytes()
    (clip / "1.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"1\.jpg: unreadable or corrupt"):
        FolderDataset(str(clip)).load("clip")


def test_frames_of_different_sizes_name_file_and_sizes(tmp_path):
    clip = _clip(tmp_path / "clip")
    Image.fromarray(np.zeros((9, 12, 3), np.uint8)).save(clip / "00002.png")
    with pytest.raises(ValueError, match=r"00002\.png: frame size 12x9 \(WxH\) differs from 12x8 of 00000\.png"):
        FolderDataset(str(clip)).load("clip")


def test_empty_and_one_frame_videos(tmp_path):
    (tmp_path / "videos" / "empty").mkdir(parents=True)
    _clip(tmp_path / "videos" / "single", n=1)
    ds = FolderDataset(str(tmp_path / "videos"))
    with pytest.raises(ValueError, match=r"empty holds no frames"):
        ds.load("empty")
    with pytest.raises(ValueError, match=r"video 'single' .* has 1 frame\(s\): a video needs at least 2"):
        ds.load("single")
    with pytest.raises(ValueError, match=r"dataset\.max_frames must be >= 2"):
        FolderDataset(str(tmp_path / "videos"), max_frames=1)


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_rgba_frames_convert_with_a_warning(tmp_path, caplog, mode):
    clip = _clip(tmp_path / "clip", mode=mode)
    with caplog.at_level(logging.WARNING):
        s = FolderDataset(str(clip)).load("clip")
    assert f"00000.png: {'grayscale' if mode == 'L' else 'RGBA'}" in caplog.text and "2 more files" in caplog.text
    assert s.frames.shape == (3, 3, 8, 12)
    torch.testing.assert_close(s.frames[1, :, 0, 0], torch.full((3,), 30 / 255))


# ---- masks --------------------------------------------------------------------------------------------

def test_mask_count_mismatch(tmp_path):
    _clip(tmp_path / "v" / "frames")
    _clip(tmp_path / "v" / "masks", n=2, mode="L")
    ds = FolderDataset(str(tmp_path / "v"), frames_subdir="frames", masks_subdir="masks", masks="object")
    with pytest.raises(ValueError, match=r"masks: 2 mask files for 3 frames"):
        ds.load("v")


def test_mask_size_mismatch(tmp_path):
    _clip(tmp_path / "v" / "frames")
    _clip(tmp_path / "v" / "masks", size=(6, 4), mode="L")  # grey 10..50: marked only below the default 127
    ds = FolderDataset(str(tmp_path / "v"), frames_subdir="frames", masks_subdir="masks", masks="object",
                       mask_threshold=0)
    with pytest.raises(ValueError, match=r"masks are 6x4 \(WxH\) but frames are 12x8"):
        ds.load("v")


def test_bad_mask_settings(tmp_path):
    clip = _clip(tmp_path / "clip")
    with pytest.raises(ValueError, match=r"dataset\.masks='object' needs dataset\.masks_subdir or dataset\.masks_root"):
        FolderDataset(str(clip), masks="object")
    with pytest.raises(ValueError, match=r"dataset\.masks must be one of"):
        FolderDataset(str(clip), masks="rectangles")
    with pytest.raises(ValueError, match=r"dataset\.mask_polarity"):
        FolderDataset(str(clip), mask_polarity="white")
    with pytest.raises(ValueError, match=r"masks='folder' is not available for dataset 'synthetic'"):
        SyntheticDataset(masks="folder")


def test_dataset_options_are_keyword_only_and_shared(tmp_path):
    clip = _clip(tmp_path / "clip")
    with pytest.raises(TypeError):
        FolderDataset(str(clip), None, "hole")  # options by position
    with pytest.raises(TypeError):
        SyntheticDataset(2, 4)
    with pytest.raises(TypeError, match="max_video"):  # a misspelled shared option is named
        FolderDataset(str(clip), max_video=1)
    assert FolderDataset(str(clip), max_frames=2, seed=3).provenance()["max_frames"] == 2


# ---- splits -------------------------------------------------------------------------------------------

def test_unknown_split(tmp_path):
    _clip(tmp_path / "JPEGImages" / "480p" / "bear")
    with pytest.raises(ValueError, match=r"dataset\.split='tset' is not a DAVIS split"):
        DAVISDataset(str(tmp_path), split="tset")  # no ImageSets folder
    (tmp_path / "ImageSets" / "2017").mkdir(parents=True)
    (tmp_path / "ImageSets" / "2017" / "val.txt").write_text("bear\n")
    missing_file = r"dataset\.split='tset'.*missing .*tset\.txt; split files for 2017: \['val'\]"
    with pytest.raises(ValueError, match=missing_file):
        DAVISDataset(str(tmp_path), split="tset")
    with pytest.raises(ValueError, match=r"dataset\.year must be one of"):
        DAVISDataset(str(tmp_path), year=2018)
