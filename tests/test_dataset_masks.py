"""Seeded inpainting rectangles (the paper's protocol), mask files (white = known), hole dilation."""

from __future__ import annotations

import logging
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.masks import dilate_holes, random_rectangle, rectangle_from_known, rectangle_known, rectangle_masks

def test_rectangle_fractions_and_placement_over_many_videos():
    h, w = 480, 832
    boxes = [random_rectangle(0, f"video-{i}", h, w) for i in range(2000)]
    fh = np.array([b.height / h for b in boxes])
    fw = np.array([b.width / w for b in boxes])
    assert fh.min() >= 0.15 - 0.5 / h and fh.max() <= 0.5 + 0.5 / h
    assert fw.min() >= 0.15 - 0.5 / w and fw.max() <= 0.5 + 0.5 / w
    # U[0.15, 0.5]: mean 0.325, sd 0.101; height and width drawn independently
    assert abs(fh.mean() - 0.325) < 0.01 and abs(fw.std() - 0.35 / np.sqrt(12)) < 0.01
    assert abs(np.corrcoef(fh, fw)[0, 1]) < 0.1
    assert all(b.top >= 0 and b.left >= 0 and b.top + b.height <= h and b.left + b.width <= w for b in boxes)
    # the corner is uniform over the admissible range: its position relative to that range averages 1/2
    rel = np.array([b.top / max(1, h - b.height) for b in boxes])
    assert abs(rel.mean() - 0.5) < 0.03


def test_rectangle_depends_on_seed_and_name_only():
    a = random_rectangle(7, "bear", 100, 200)
    _ = [random_rectangle(7, n, 100, 200) for n in ("camel", "dog")]  # other videos drawn in between
    assert random_rectangle(7, "bear", 100, 200) == a
    assert random_rectangle(8, "bear", 100, 200) != a
    assert random_rectangle(7, "bear2", 100, 200) != a
    # the draw is default_rng([seed, crc32(name)]) (stable across processes, unlike hash()): the first
    # uniform gives the height
    u = np.random.default_rng([7, zlib.crc32(b"bear")]).uniform(0.15, 0.5)
    assert a.height == round(u * 100)


def test_rectangle_known_golden():
    from datasets.masks import Rectangle

    known = rectangle_known(Rectangle(top=1, left=2, height=2, width=3), 4, 6)
    expected = torch.ones(1, 4, 6)
    expected[0, 1:3, 2:5] = 0
    torch.testing.assert_close(known, expected)
    assert rectangle_from_known(known) == Rectangle(1, 2, 2, 3)


def test_mask_file_written_white_known_and_reused(tmp_path, caplog):
    known, meta = rectangle_masks("cows", 4, 30, 40, seed=1, mask_dir=tmp_path)
    assert known.shape == (4, 1, 30, 40) and torch.equal(known[0], known[3])
    path = tmp_path / "cows.png"
    assert meta["mask_file"] == str(path) and meta["mask_kind"] == "rectangle"
    arr = np.array(Image.open(path))
    np.testing.assert_array_equal(arr, known[0, 0].numpy() * 255)  # white = known, black = hole
    # a file already there wins (every method of a run sees the same mask), with a warning if it differs
    custom = np.full((30, 40), 255, np.uint8)
    custom[5:10, 6:9] = 0
    Image.fromarray(custom).save(path)
    with caplog.at_level(logging.WARNING):
        reused, meta = rectangle_masks("cows", 2, 30, 40, seed=1, mask_dir=tmp_path)
    assert "using the file" in caplog.text
    np.testing.assert_array_equal(reused[1, 0].numpy(), custom / 255)
    assert meta["mask_box"] == {"top": 5, "left": 6, "height": 5, "width": 3}


def test_stale_mask_file_with_other_size_is_an_error(tmp_path):
    rectangle_masks("cows", 2, 30, 40, seed=1, mask_dir=tmp_path)
    with pytest.raises(ValueError, match=r"cows\.png is 40x30.*60x32"):
        rectangle_masks("cows", 2, 32, 60, seed=1, mask_dir=tmp_path)


def test_dilate_holes_with_a_disc():
    known = torch.ones(1, 1, 7, 7)
    known[0, 0, 3, 3] = 0
    grown = dilate_holes(known, 1)
    expected = torch.ones(7, 7)
    expected[3, 2:5] = 0
    expected[2:5, 3] = 0  # radius-1 disc = the 4-neighbourhood cross
    torch.testing.assert_close(grown[0, 0], expected)
    assert dilate_holes(known, 0) is known
    assert (dilate_holes(known, 2)[0, 0] == 0).sum() == 13  # radius-2 digital disc
