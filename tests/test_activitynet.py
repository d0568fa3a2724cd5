"""ActivityNet clips from a manifest: video and frame-folder sources, start frame, crop, PNG cache reuse."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.activitynet import ActivityNetDataset
from hypercon.io.video import read_video, write_video


def _ramp_video(path, n=8, h=36, w=64):
    x = torch.linspace(0, 1, w + n)
    frames = torch.stack([torch.stack([x[None, t : t + w].expand(h, w), x[None, :w].expand(h, w).flip(-1),
                                       torch.full((h, w), t / n)]) for t in range(n)])
    return write_video(frames, path, fps=10)


def _manifest(path, rows, header="clip_id,source,start_frame,num_frames"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_video_clip_cropped_and_cached(tmp_path):
    video = _ramp_video(tmp_path / "src" / "vid.mp4")
    manifest = _manifest(tmp_path / "clips.csv", ["c0,src/vid.mp4,2,5"])
    cache = tmp_path / "cache"
    ds = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[32, 24])
    assert ds.video_names() == ["c0"]
    s = ds.load("c0")
    assert s.frames.shape == (5, 3, 24, 32)
    assert s.meta["fps"] == 10.0 and s.meta["start_frame"] == 2 and s.meta["original_size"] == [64, 36]
    assert s.meta["preprocess"]["resized"] == [43, 24] and s.meta["preprocess"]["crop"] == [5, 0, 32, 24]
    # the cached frames are the decoded frames 2..6, resized and cropped
    decoded, _ = read_video(video, max_frames=5, start_frame=2)
    expected = torch.nn.functional.interpolate(decoded, size=(24, 43), mode="bilinear", antialias=True)[..., 5:37]
    assert (s.frames - expected).abs().max() < 1.5 / 255  # 8-bit PNG cache
    files = sorted(p.name for p in (cache / "c0").iterdir())
    assert files == ["00000.png", "00001.png", "00002.png", "00003.png", "00004.png", "clip.json"]
    # reuse: the cache is read even when the source is gone, frames unchanged
    mtimes = [os.stat(cache / "c0" / f).st_mtime_ns for f in files]
    video.rename(tmp_path / "src" / "moved.mp4")
    (tmp_path / "src" / "vid.mp4").write_bytes(b"")  # source must exist, contents unused
    again = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[32, 24], max_frames=3).load("c0")
    torch.testing.assert_close(again.frames, s.frames[:3], rtol=0, atol=0)
    assert [os.stat(cache / "c0" / f).st_mtime_ns for f in files] == mtimes
    # a different size invalidates the cache
    (tmp_path / "src" / "moved.mp4").replace(tmp_path / "src" / "vid.mp4")
    bigger = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[48, 36]).load("c0")
    assert bigger.frames.shape == (5, 3, 36, 48)
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_cached_frames_changed_by_hand_are_re_extracted(tmp_path, caplog):
    """Issue 26 (a cache entry is verified before use): clip.json records the frames' digest, so a cached
    PNG replaced by another frame of the same size is not read as the clip."""
    import logging

    _ramp_video(tmp_path / "src" / "vid.mp4")
    manifest = _manifest(tmp_path / "clips.csv", ["c0,src/vid.mp4,2,5"])
    cache = tmp_path / "cache"
    first = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[32, 24]).load("c0")
    (cache / "c0" / "00001.png").write_bytes((cache / "c0" / "00004.png").read_bytes())  # swapped by hand
    with caplog.at_level(logging.WARNING):
        again = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[32, 24]).load("c0")
    assert "are not the frames its clip.json records" in caplog.text
    torch.testing.assert_close(again.frames, first.frames, rtol=0, atol=0)
    again_cached = ActivityNetDataset(str(manifest), cache_dir=str(cache), size=[32, 24]).load("c0")
    torch.testing.assert_close(again_cached.frames, first.frames, rtol=0, atol=0)  # the cache was rebuilt


def test_frame_folder_source_start_frame_and_split(tmp_path):
    folder = tmp_path / "frames" / "v"
    folder.mkdir(parents=True)
    for t in range(6):
        Image.fromarray(np.full((8, 12, 3), 40 * t, np.uint8)).save(folder / f"img{t}.png")
    manifest = _manifest(tmp_path / "m.csv", ["a,frames/v,1,3,test", "b,frames/v,0,2,validation"],
                         header="clip_id,source,start_frame,num_frames,split")
    ds = ActivityNetDataset(str(manifest), split="test", size=None)
    assert ds.video_names() == ["a"]
    s = ds.load("a")
    torch.testing.assert_close(s.frames[:, 0, 0, 0], torch.tensor([40.0, 80.0, 120.0]) / 255)
    assert s.meta["split"] == "test" and s.meta["fps"] is None


def test_defaults_for_optional_columns_and_root(tmp_path):
    _ramp_video(tmp_path / "data" / "v.mp4", n=4)
    manifest = _manifest(tmp_path / "m.csv", ["x,v.mp4"], header="clip_id,source")
    ds = ActivityNetDataset(str(manifest), root=str(tmp_path / "data"), clip_frames=4, size=None)
    assert ds.load("x").frames.shape == (4, 3, 36, 64)


def test_rectangle_masks_allowed_object_masks_not(tmp_path):
    _ramp_video(tmp_path / "v.mp4", n=3)
    manifest = _manifest(tmp_path / "m.csv", ["x,v.mp4,0,3"])
    s = ActivityNetDataset(str(manifest), size=None, masks="rectangle").load("x")
    assert s.known.shape == (3, 1, 36, 64) and s.gt is s.frames
    with pytest.raises(ValueError, match="masks='object' is not available"):
        ActivityNetDataset(str(manifest), masks="object")
