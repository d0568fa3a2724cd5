"""Frame / mask / video I/O: ordering, exact round trips, polarity, palette masks, atomic writes, mp4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hypercon.io.frames import (
    list_frame_files,
    read_frames,
    read_image,
    read_mask,
    read_masks,
    write_frames,
    write_image,
    write_mask,
)
from hypercon.io.video import count_video_frames, probe_video, read_video, write_video


def _rgb(h=6, w=9, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_list_frame_files_natural_order_and_extensions(tmp_path):
    for name in ["10.png", "2.png", "1.JPG", "03.jpeg", "4.bmp", "notes.txt", ".hidden.png"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_frame_files(tmp_path)] == ["1.JPG", "2.png", "03.jpeg", "4.bmp", "10.png"]


def test_read_frames_matches_pil_pixels_exactly(tmp_path):
    arrays = [_rgb(seed=s) for s in range(3)]
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(tmp_path / f"{i:05d}.png")
    frames = read_frames(tmp_path)
    assert frames.shape == (3, 3, 6, 9) and frames.dtype == torch.float32
    expected = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255
    torch.testing.assert_close(frames, expected, rtol=0, atol=0)
    assert read_frames(tmp_path, max_frames=2).shape[0] == 2
    assert read_frames([tmp_path / "00002.png"]).shape == (1, 3, 6, 9)


def test_write_frames_round_trip_is_exact_on_8bit_values(tmp_path):
    frames = torch.from_numpy(np.stack([_rgb(5, 7, s) for s in range(4)])).permute(0, 3, 1, 2).float() / 255
    paths = write_frames(frames, tmp_path / "out", start=3)
    assert [p.name for p in paths] == ["00003.png", "00004.png", "00005.png", "00006.png"]
    torch.testing.assert_close(read_frames(tmp_path / "out"), frames, rtol=0, atol=0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]  # no temp files left


def test_write_image_rounds_and_clamps(tmp_path):
    img = torch.tensor([0.0, 0.5, 1.2, -0.1, 0.2, 1 / 255]).reshape(1, 2, 3).expand(3, 2, 3)
    write_image(img, tmp_path / "a.png")
    back = np.array(Image.open(tmp_path / "a.png"))[..., 0]
    np.testing.assert_array_equal(back, [[0, 128, 255], [0, 51, 1]])
    torch.testing.assert_close(read_image(tmp_path / "a.png")[0], torch.from_numpy(back).float() / 255)


def test_read_masks_polarity_and_threshold(tmp_path):
    arr = np.array([[0, 127, 128], [255, 0, 200]], dtype=np.uint8)
    for i in range(2):
        Image.fromarray(arr).save(tmp_path / f"{i}.png")
    hole = read_masks(tmp_path, polarity="hole")
    assert hole.shape == (2, 1, 2, 3)
    np.testing.assert_array_equal(hole[0, 0].numpy(), [[1, 1, 0], [0, 1, 0]])  # white (>127) = hole
    known = read_masks(tmp_path, polarity="known")
    np.testing.assert_array_equal(known[0, 0].numpy(), [[0, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(read_masks(tmp_path, polarity="known", threshold=150)[1, 0].numpy(),
                                  [[0, 0, 0], [1, 0, 1]])
    with pytest.raises(ValueError, match="polarity"):
        read_masks(tmp_path, polarity="white")


def test_palette_annotation_any_label_is_set(tmp_path):
    # DAVIS annotations are indexed PNGs whose object 1 is dark red: luminance thresholding would miss it.
    labels = np.array([[0, 1, 2], [0, 0, 255]], dtype=np.uint8)
    img = Image.fromarray(labels, mode="P")
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 252 + [224, 224, 192])
    img.save(tmp_path / "00000.png")
    known = read_mask(tmp_path / "00000.png", polarity="hole")
    np.testing.assert_array_equal(known[0].numpy(), [[1, 0, 0], [1, 1, 0]])


def test_write_mask_white_is_known_round_trip(tmp_path):
    known = torch.tensor([[1.0, 0.0], [0.0, 1.0]])[None]
    write_mask(known, tmp_path / "m.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "m.png")), [[255, 0], [0, 255]])
    torch.testing.assert_close(read_mask(tmp_path / "m.png", polarity="known"), known)
    write_mask(known, tmp_path / "h.png", polarity="hole")
    torch.testing.assert_close(read_mask(tmp_path / "h.png", polarity="hole"), known)


def test_video_round_trip_size_count_fps_and_quality(tmp_path):
    x = torch.linspace(0, 1, 40)
    base = torch.stack([x[None, :].expand(24, 40), x[:, None][:24].expand(24, 40), 0.5 * torch.ones(24, 40)])
    frames = torch.stack([base[..., t : t + 32] for t in range(6)])  # a smooth image panning by 1 px
    path = write_video(frames, tmp_path / "v" / "clip.mp4", fps=12.5)
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["clip.mp4"]
    info = probe_video(path)
    assert (info["width"], info["height"], info["fps"]) == (32, 24, 12.5)
    back, fps = read_video(path)
    assert back.shape == frames.shape and fps == 12.5 and count_video_frames(path) == 6
    mse = (back - frames).square().mean().item()
    assert 10 * np.log10(1 / mse) > 35  # H.264 at crf 18 on a smooth image
    part, _ = read_video(path, max_frames=2, start_frame=3)
    torch.testing.assert_close(part, back[3:5])
    assert read_video(path, start_frame=10)[0].shape == (0, 3, 24, 32)


def test_write_video_pads_odd_sizes_to_even(tmp_path):
    frames = torch.rand(3, 3, 7, 9)
    back, _ = read_video(write_video(frames, tmp_path / "odd.mp4"))
    assert back.shape == (3, 3, 8, 10)
