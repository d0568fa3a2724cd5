"""FolderDataset: the three layouts, mask folders with both polarities, resizing, the inpaint-samples clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.folder import FolderDataset
from hypercon.io.video import write_video


def _frames(folder, n=3, size=(16, 10), start=0):
    folder.mkdir(parents=True)
    arrays = []
    for t in range(n):
        a = np.random.default_rng(start + t).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(a).save(folder / f"{t:05d}.png")
        arrays.append(a)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255


def _masks(folder, n=3, size=(16, 10), white_box=(2, 5, 3, 9)):
    folder.mkdir(parents=True)
    for t in range(n):
        m = np.zeros((size[1], size[0]), np.uint8)
        top, bottom, left, right = white_box
        m[top:bottom, left:right] = 255
        Image.fromarray(m).save(folder / f"{t:05d}.png")


def test_single_frame_folder(tmp_path):
    expected = _frames(tmp_path / "clip")
    ds = FolderDataset(str(tmp_path / "clip"))
    assert ds.video_names() == ["clip"]
    s = ds.load("clip")
    torch.testing.assert_close(s.frames, expected, rtol=0, atol=0)
    assert s.known is None and s.meta["source"] == str(tmp_path / "clip")


def test_folder_of_videos_with_subfolders_and_a_video_file(tmp_path):
    _frames(tmp_path / "root" / "b", n=4)
    _frames(tmp_path / "root" / "a", n=2)
    write_video(torch.rand(3, 3, 10, 16), tmp_path / "root" / "c.mp4", fps=30)
    (tmp_path / "root" / "notes.txt").write_text("ignored")
    ds = FolderDataset(str(tmp_path / "root"), max_videos=2)
    assert ds.video_names() == ["a", "b"]
    full = FolderDataset(str(tmp_path / "root"), size=[8, 8], max_frames=3)
    assert full.video_names() == ["a", "b", "c"]
    s = full.load("c")
    assert s.frames.shape == (3, 3, 8, 8) and s.meta["fps"] == 30.0
    assert full.load("b").frames.shape == (3, 3, 8, 8)


def test_single_video_file_root(tmp_path):
    path = write_video(torch.rand(4, 3, 10, 16), tmp_path / "walk.mp4", fps=25)
    ds = FolderDataset(str(path))
    assert ds.video_names() == ["walk"] and ds.load("walk").frames.shape == (4, 3, 10, 16)


def test_relative_root_resolves_against_data_root(tmp_path):
    _frames(tmp_path / "data" / "clips" / "x")
    ds = FolderDataset("clips", data_root=str(tmp_path / "data"))
    assert ds.video_names() == ["x"]


@pytest.mark.parametrize("polarity", ["hole", "known"])
def test_masks_root_and_polarity(tmp_path, polarity):
    _frames(tmp_path / "videos" / "v1")
    _masks(tmp_path / "masks" / "v1")
    ds = FolderDataset(str(tmp_path / "videos"), masks_root=str(tmp_path / "masks"), mask_polarity=polarity,
                       masks="folder")
    s = ds.load("v1")
    white = torch.zeros(10, 16)
    white[2:5, 3:9] = 1
    expected = 1 - white if polarity == "hole" else white
    torch.testing.assert_close(s.known[2, 0], expected)
    assert s.gt is None and s.meta["mask_polarity_on_disk"] == polarity


def test_masks_subdir_with_resize_and_dilation(tmp_path):
    _frames(tmp_path / "root" / "v" / "frames", size=(32, 20))
    _masks(tmp_path / "root" / "v" / "masks", size=(32, 20), white_box=(4, 10, 6, 18))
    ds = FolderDataset(str(tmp_path / "root"), frames_subdir="frames", masks_subdir="masks", masks="object",
                       size=[16, 10], mask_dilation=1)
    s = ds.load("v")
    assert s.frames.shape == (3, 3, 10, 16) and s.known.shape == (3, 1, 10, 16)
    holes = (s.known[0, 0] == 0).nonzero()
    # hole rows 4..9 / cols 6..17 halve to rows 2..4 / cols 3..8, dilation adds one pixel around
    assert holes[:, 0].min() == 1 and holes[:, 0].max() == 5 and holes[:, 1].min() == 2 and holes[:, 1].max() == 9


def test_rectangle_masks_on_a_folder(tmp_path):
    _frames(tmp_path / "clip")
    s = FolderDataset(str(tmp_path / "clip"), masks="rectangle", seed=4).load("clip")
    assert s.known.shape == (3, 1, 10, 16) and s.gt is s.frames and (s.known == 0).any()


def test_inpaint_samples_load(shared_dir):
    ds = FolderDataset("inpaint-samples", data_root=str(shared_dir / "data"), frames_subdir="frames",
                       masks_subdir="masks", mask_polarity="hole", masks="object", max_frames=3)
    assert ds.video_names() == ["bmx-trees", "tennis"]
    for name in ds.video_names():
        s = ds.load(name)
        assert s.frames.shape == (3, 3, 240, 432) and s.known.shape == (3, 1, 240, 432) and s.gt is None
        mask = np.array(Image.open(shared_dir / "data" / "inpaint-samples" / name / "masks" / "00000.png"))
        np.testing.assert_array_equal(s.known[0, 0].numpy(), (mask <= 127).astype(np.float32))  # white = hole
        assert 0.01 < (1 - s.known).mean() < 0.5
