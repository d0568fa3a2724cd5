"""DAVIS: split parsing on a synthetic tree (no shared data needed) and reading the real 2016-val copy."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.davis import DAVISDataset

SPLITS_2017 = {"train": ["bear", "bmx-bumps"], "val": ["blackswan", "bmx-trees"],
               "test-dev": ["aerobatics"], "test-challenge": ["acrobats"]}


def _make_tree(root, splits_by_year, frames=3, size=(20, 12), annotations=True):
    seqs = sorted({s for splits in splits_by_year.values() for names in splits.values() for s in names})
    for i, seq in enumerate(seqs):
        (root / "JPEGImages" / "480p" / seq).mkdir(parents=True)
        (root / "Annotations" / "480p" / seq).mkdir(parents=True)
        for t in range(frames):
            img = np.full((size[1], size[0], 3), 10 * i + t, np.uint8)
            Image.fromarray(img).save(root / "JPEGImages" / "480p" / seq / f"{t:05d}.jpg", quality=100)
            if annotations or t == 0:
                lab = np.zeros((size[1], size[0]), np.uint8)
                lab[2:5, 3:9] = 1
                lab[8, 0] = 2
                ann = Image.fromarray(lab, mode="P")
                ann.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 253)
                ann.save(root / "Annotations" / "480p" / seq / f"{t:05d}.png")
    for year, splits in splits_by_year.items():
        (root / "ImageSets" / str(year)).mkdir(parents=True)
        for split, names in splits.items():
            # stray whitespace as in real lists (VINet's ' blackswan'), a blank line, CRLF
            text = "\r\n".join(f" {n}  " if j == 0 else n for j, n in enumerate(names)) + "\n\n"
            (root / "ImageSets" / str(year) / f"{split}.txt").write_text(text)
    return root


@pytest.fixture
def tree(tmp_path):
    return _make_tree(tmp_path / "DAVIS", {2017: SPLITS_2017, 2019: {"test-dev": ["aerobatics"],
                                                                     "test-challenge": ["acrobats"]}})


@pytest.mark.parametrize(
    "year,split,expected",
    [(2017, "val", ["blackswan", "bmx-trees"]),
     (2017, "train", ["bear", "bmx-bumps"]),
     (2017, "validation", ["bear", "blackswan", "bmx-bumps", "bmx-trees"]),
     (2017, "test", ["acrobats", "aerobatics"]),
     (2017, "test-dev", ["aerobatics"]),
     (2019, "test", ["acrobats", "aerobatics"]),
     (2019, "validation", ["bear", "blackswan", "bmx-bumps", "bmx-trees"]),  # 2019 has no train/val: 2017's
     (2017, "all", ["acrobats", "aerobatics", "bear", "blackswan", "bmx-bumps", "bmx-trees"])],
)
def test_splits(tree, year, split, expected):
    ds = DAVISDataset(str(tree), year=year, split=split, size=None)
    assert ds.video_names() == expected
    assert ds.provenance()["split"] == split and ds.name == f"davis{year}"


def test_sequences_override_and_max_videos(tree):
    ds = DAVISDataset(str(tree), split="val", sequences=["bear", " acrobats"], max_videos=1, size=None)
    assert ds.video_names() == ["acrobats"]


def test_load_with_object_masks_any_label_is_hole(tree):
    ds = DAVISDataset(str(tree), split="val", size=None, masks="object", max_frames=2)
    s = ds.load("bmx-trees")
    assert s.frames.shape == (2, 3, 12, 20) and s.known.shape == (2, 1, 12, 20) and s.gt is None
    expected = torch.ones(12, 20)
    expected[2:5, 3:9] = 0
    expected[8, 0] = 0
    torch.testing.assert_close(s.known[1, 0], expected)
    assert s.meta["mask_kind"] == "object" and s.meta["mask_source"].endswith("bmx-trees")


def test_test_split_object_masks_need_every_annotation(tmp_path):
    root = _make_tree(tmp_path / "D", {2017: {"test-dev": ["aerobatics"]}}, annotations=False)
    ds = DAVISDataset(str(root), split="test-dev", size=None, masks="object")
    with pytest.raises(ValueError, match="1 annotation files for 3 frames"):
        ds.load("aerobatics")


def test_split_sequence_missing_from_jpegimages(tree):
    (tree / "ImageSets" / "2017" / "val.txt").write_text("blackswan\nnot-downloaded\n")
    with pytest.raises(FileNotFoundError, match="not-downloaded"):
        DAVISDataset(str(tree), split="val")


def test_shared_davis2016_val_sequences_and_frames(shared_dir, caplog):
    root = shared_dir / "data" / "davis2016-val"
    with caplog.at_level(logging.WARNING):
        ds = DAVISDataset(str(root), year=2016, split="val", size=[208, 120], max_frames=5, max_videos=2,
                          masks="object")
    assert "no ImageSets" in caplog.text
    everything = DAVISDataset(str(root), year=2016, split="val", size=None)
    folders = sorted(p.name for p in (root / "JPEGImages" / "480p").iterdir() if p.is_dir())
    assert len(folders) == 20 and everything.video_names() == folders
    assert ds.video_names() == folders[:2]
    for name in ds.video_names():
        s = ds.load(name)
        assert s.frames.shape == (5, 3, 120, 208) and s.known.shape == (5, 1, 120, 208)
        assert s.meta["original_size"] == [854, 480] and s.meta["preprocess"]["crop"] == [3, 0, 208, 120]
        # hole fraction after resize/crop ≈ the annotation's own object fraction
        ann = np.array(Image.open(root / "Annotations" / "480p" / name / "00000.png"))[:, 3 * 4 + 1 : -13] > 0
        assert abs((1 - s.known[0].mean().item()) - ann.mean()) < 0.01
    native = DAVISDataset(str(root), year=2016, size=[832, 480], max_frames=2, sequences=["blackswan"])
    frame = native.load("blackswan").frames[0]
    pixels = np.array(Image.open(root / "JPEGImages" / "480p" / "blackswan" / "00000.jpg"))[:, 11:843]
    torch.testing.assert_close(frame, torch.from_numpy(pixels).permute(2, 0, 1).float() / 255, rtol=0, atol=0)
