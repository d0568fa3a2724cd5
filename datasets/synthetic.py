"""The embedded default dataset: procedural videos with exact optical flow and occlusion, no files needed.

A video is a textured background seen through a moving camera (per-frame affine: pan, zoom, rotation,
all sub-pixel) with 1–2 textured sprites (discs or rectangles cut from another image) moving and rotating
on top, each occluding what lies below. Textures are photographs bundled in the scikit-image wheel
(no download). Rendering inverse-maps every output pixel through its layer's affine and samples the
texture bilinearly (pixel centres at integer coordinates); the background texture is larger than the view
for every frame, so there are no border artefacts.

Ground truth, for frames t → t+1 (pixel x = (column, row)):

* ``flow_fw[t](x)`` = position in frame t+1 of the scene point seen at x in frame t, minus x (on t's grid);
* ``flow_bw[t](y)`` = the same from frame t+1 back to frame t (on t+1's grid);
* ``occluded_fw[t](x)`` = that point is not visible at x + flow_fw in frame t+1 (covered by a sprite
  above it, or outside the frame); ``occluded_bw[t](y)`` likewise for ``flow_bw`` (disoccluded pixels);
* ``layers[t](x)`` = 0 background, k = k-th sprite (drawn in increasing k).

Warping frame t+1 with ``flow_fw[t]`` (``hypercon.warp.backward_warp``) reproduces frame t on pixels that
are not occluded, up to bilinear re-sampling error (textures are pre-smoothed to keep it small).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from datasets.base import VideoDataset
from hypercon.errors import SettingError

log = logging.getLogger(__name__)

#: colour photographs shipped inside the scikit-image wheel (no pooch download)
BUNDLED_IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
VIEW_SCALE = 0.8  # texture pixels per frame pixel (textures are magnified 1.25×)
COVERAGE = 0.6  # the view spans at most this fraction of the background texture
TEXTURE_SIGMA = 1.0  # Gaussian pre-smoothing of textures, texture pixels


@dataclass
class SyntheticVideo:
    """frames ``[T,3,H,W]`` float32 [0,1]; flow_fw/flow_bw ``[T-1,2,H,W]`` px (dx, dy); occluded_fw /
    occluded_bw ``[T-1,1,H,W]`` bool; layers ``[T,1,H,W]`` uint8; meta: the drawn parameters."""

    frames: Tensor
    flow_fw: Tensor
    flow_bw: Tensor
    occluded_fw: Tensor
    occluded_bw: Tensor
    layers: Tensor
    meta: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=len(BUNDLED_IMAGES))
def bundled_image(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as ``[H,W,3]`` float32 in [0,1]."""
    import skimage.data

    if name not in BUNDLED_IMAGES:
        raise SettingError(f"unknown texture {name!r}; bundled ones: {BUNDLED_IMAGES}")
    return getattr(skimage.data, name)()[..., :3].astype(np.float32) / 255.0


def _texture(name: str, scale: float) -> np.ndarray:
    img = bundled_image(name)
    size = (max(8, round(img.shape[1] * scale)), max(8, round(img.shape[0] * scale)))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return np.clip(cv2.GaussianBlur(img, (0, 0), TEXTURE_SIGMA), 0.0, 1.0)


def _rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _affine(linear: np.ndarray, offset: np.ndarray) -> np.ndarray:
    m = np.eye(3)
    m[:2, :2], m[:2, 2] = linear, offset
    return m


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply 3×3 affine ``m`` to points ``[...,2]``."""
    return pts @ m[:2, :2].T + m[:2, 2]


def _sample(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear sample ``texture [h,w,3]`` at pixel coordinates ``uv [H,W,2]`` (align_corners=True)."""
    h, w = texture.shape[:2]
    grid = np.stack((2 * uv[..., 0] / (w - 1) - 1, 2 * uv[..., 1] / (h - 1) - 1), axis=-1)
    src = torch.from_numpy(np.ascontiguousarray(texture.transpose(2, 0, 1), dtype=np.float64))[None]
    out = F.grid_sample(src, torch.from_numpy(grid)[None], mode="bilinear", padding_mode="border", align_corners=True)
    return out[0].numpy().transpose(1, 2, 0)


@dataclass
class _Sprite:
    shape: str  # "disc" | "rect"
    half: tuple[float, float]  # radius (disc: both equal) or half-width, half-height in frame px
    texture: np.ndarray
    tex_center: np.ndarray
    poses: list[np.ndarray]  # per frame: sprite-local coords → frame coords

    def inside(self, t: int, pts: np.ndarray) -> np.ndarray:
        v = _apply(np.linalg.inv(self.poses[t]), pts)
        if self.shape == "disc":
            return (v**2).sum(-1) <= self.half[0] ** 2
        return (np.abs(v[..., 0]) <= self.half[0]) & (np.abs(v[..., 1]) <= self.half[1])


def _background(rng, name, num_frames, height, width):
    """Texture and per-frame frame→texture affines (fitted so every view lies inside the texture)."""
    src = bundled_image(name)
    factor = max(width * VIEW_SCALE / (COVERAGE * src.shape[1]), height * VIEW_SCALE / (COVERAGE * src.shape[0]))
    tex = _texture(name, factor)
    pan = rng.uniform(0.3, 1.5) * np.array([np.cos(a := rng.uniform(0, 2 * np.pi)), np.sin(a)])
    spin, zoom = np.deg2rad(rng.uniform(-0.4, 0.4)), rng.uniform(-0.006, 0.006)
    tc, xc = (num_frames - 1) / 2, np.array([(width - 1) / 2, (height - 1) / 2])
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]], float) - xc
    lin = [np.exp(zoom * (t - tc)) * _rot(spin * (t - tc)) for t in range(num_frames)]
    disp = [pan * (t - tc) for t in range(num_frames)]
    reach = np.max([np.abs(corners @ lin[t].T + disp[t]).max(0) for t in range(num_frames)], axis=0)
    room = (np.array([tex.shape[1], tex.shape[0]]) - 1) / 2 - 1.0
    scale = min(VIEW_SCALE, *(room / reach))
    center = room + 1.0
    mats = [_affine(scale * lin[t], center + scale * disp[t] - scale * lin[t] @ xc) for t in range(num_frames)]
    meta = {"image": name, "pan_px_per_frame": pan.tolist(), "spin_deg_per_frame": float(np.rad2deg(spin)),
            "zoom_per_frame": float(zoom), "texture_px_per_frame_px": float(scale)}
    return tex, mats, meta


def _sprite(rng, name, num_frames, height, width) -> tuple[_Sprite, dict]:
    shape = "disc" if rng.random() < 0.5 else "rect"
    r = rng.uniform(0.12, 0.2) * min(height, width)
    half = (r, r) if shape == "disc" else (r, r * rng.uniform(0.55, 0.9))
    extent = float(np.hypot(*half)) * VIEW_SCALE
    src = bundled_image(name)
    tex = _texture(name, max(0.05, (2 * extent + 8) / (0.8 * min(src.shape[:2]))))
    room = (np.array([tex.shape[1], tex.shape[0]]) - 1) / 2 - extent - 2
    tex_center = (np.array([tex.shape[1], tex.shape[0]]) - 1) / 2 + rng.uniform(-1, 1, 2) * np.maximum(room, 0)
    speed, heading = rng.uniform(0.8, 2.5), rng.uniform(0, 2 * np.pi)
    vel = speed * np.array([np.cos(heading), np.sin(heading)])
    mid = np.array([(width - 1) / 2, (height - 1) / 2]) + rng.uniform(-0.2, 0.2, 2) * [width, height]
    spin, angle0 = np.deg2rad(rng.uniform(-1.5, 1.5)), rng.uniform(0, 2 * np.pi)
    tc = (num_frames - 1) / 2
    poses = [_affine(_rot(angle0 + spin * (t - tc)), mid + vel * (t - tc)) for t in range(num_frames)]
    meta = {"image": name, "shape": shape, "half_size_px": [float(half[0]), float(half[1])],
            "velocity_px_per_frame": vel.tolist(), "spin_deg_per_frame": float(np.rad2deg(spin))}
    return _Sprite(shape, half, tex, tex_center, poses), meta


def _layer_map(sprites: list[_Sprite], t: int, pts: np.ndarray) -> np.ndarray:
    layer = np.zeros(pts.shape[:-1], dtype=np.uint8)
    for k, sp in enumerate(sprites, start=1):
        layer[sp.inside(t, pts)] = k
    return layer


def _motion(layer_maps, bg_mats, sprites, t_from: int, t_to: int, pts):
    """Flow ``t_from → t_to`` on t_from's grid and the occlusion of that flow."""
    h, w = pts.shape[:2]
    target = np.empty_like(pts)
    for k in range(len(sprites) + 1):
        sel = layer_maps[t_from] == k
        if k == 0:
            m = np.linalg.inv(bg_mats[t_to]) @ bg_mats[t_from]
        else:
            m = sprites[k - 1].poses[t_to] @ np.linalg.inv(sprites[k - 1].poses[t_from])
        target[sel] = _apply(m, pts[sel])
    outside = (target[..., 0] < 0) | (target[..., 0] > w - 1) | (target[..., 1] < 0) | (target[..., 1] > h - 1)
    occluded = outside | (_layer_map(sprites, t_to, target) != layer_maps[t_from])
    return target - pts, occluded


def make_synthetic_video(
    seed: int | tuple[int, ...],
    num_frames: int = 12,
    height: int = 128,
    width: int = 224,
    num_sprites: int | None = None,
) -> SyntheticVideo:
    """Render a procedural video with exact flow and occlusion (see module docstring). Deterministic in
    ``seed`` (an int or a tuple of ints for ``np.random.default_rng``); ``num_sprites`` None draws 1–2."""
    if num_frames < 2 or height < 8 or width < 8:
        raise SettingError(f"make_synthetic_video: need num_frames >= 2 and a size >= 8x8, got "
                         f"{num_frames} frames of {width}x{height}")
    rng = np.random.default_rng(list(seed) if isinstance(seed, (tuple, list)) else int(seed))
    names = list(rng.permutation(len(BUNDLED_IMAGES)))
    bg_tex, bg_mats, bg_meta = _background(rng, BUNDLED_IMAGES[names[0]], num_frames, height, width)
    count = int(rng.integers(1, 3)) if num_sprites is None else int(num_sprites)
    sprites, sprite_meta = [], []
    for k in range(count):
        sp, meta = _sprite(rng, BUNDLED_IMAGES[names[1 + k % (len(names) - 1)]], num_frames, height, width)
        sprites.append(sp)
        sprite_meta.append(meta)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pts = np.stack((xs, ys), axis=-1)
    layer_maps = [_layer_map(sprites, t, pts) for t in range(num_frames)]
    frames = torch.empty(num_frames, 3, height, width)
    for t in range(num_frames):
        image = _sample(bg_tex, _apply(bg_mats[t], pts))
        for k, sp in enumerate(sprites, start=1):
            sel = layer_maps[t] == k
            if sel.any():
                local = _apply(np.linalg.inv(sp.poses[t]), pts[sel]) * VIEW_SCALE + sp.tex_center
                image[sel] = _sample(sp.texture, local[None])[0]
        frames[t] = torch.from_numpy(np.clip(image, 0, 1).transpose(2, 0, 1).astype(np.float32))
    flow_fw, flow_bw = torch.empty(2, num_frames - 1, 2, height, width)
    occluded_fw, occluded_bw = torch.empty(2, num_frames - 1, 1, height, width, dtype=torch.bool)
    for t in range(num_frames - 1):
        for flow, occluded, (a, b) in ((flow_fw, occluded_fw, (t, t + 1)), (flow_bw, occluded_bw, (t + 1, t))):
            f, o = _motion(layer_maps, bg_mats, sprites, a, b, pts)
            flow[t] = torch.from_numpy(f.transpose(2, 0, 1).astype(np.float32))
            occluded[t, 0] = torch.from_numpy(o)
    return SyntheticVideo(
        frames=frames, flow_fw=flow_fw, flow_bw=flow_bw, occluded_fw=occluded_fw, occluded_bw=occluded_bw,
        layers=torch.from_numpy(np.stack(layer_maps))[:, None],
        meta={"seed": list(seed) if isinstance(seed, (tuple, list)) else int(seed), "background": bg_meta,
              "sprites": sprite_meta},
    )


def splice_cut(before: SyntheticVideo, after: SyntheticVideo, cut_at: int) -> SyntheticVideo:
    """A hard scene cut: frames ``[0, cut_at)`` of ``before``, then frames ``[cut_at, T)`` of ``after`` (same T
    and size). Across the cut (pair ``cut_at−1 → cut_at``) no point stays visible: flow 0 and every pixel
    occluded, both ways."""
    num_frames = before.frames.shape[0]
    if after.frames.shape != before.frames.shape or not 1 <= cut_at < num_frames:
        raise SettingError(f"splice_cut: need two videos of one shape and 1 <= cut_at < {num_frames}, got "
                           f"{tuple(before.frames.shape)}, {tuple(after.frames.shape)}, cut_at={cut_at}")

    def pairs(a: Tensor, b: Tensor, across: Tensor) -> Tensor:  # per pair t -> t+1
        return torch.cat((a[: cut_at - 1], across[None], b[cut_at:]))

    blank, hidden = torch.zeros_like(before.flow_fw[0]), torch.ones_like(before.occluded_fw[0])
    return SyntheticVideo(
        frames=torch.cat((before.frames[:cut_at], after.frames[cut_at:])),
        flow_fw=pairs(before.flow_fw, after.flow_fw, blank), flow_bw=pairs(before.flow_bw, after.flow_bw, blank),
        occluded_fw=pairs(before.occluded_fw, after.occluded_fw, hidden),
        occluded_bw=pairs(before.occluded_bw, after.occluded_bw, hidden),
        layers=torch.cat((before.layers[:cut_at], after.layers[cut_at:])),
        meta={"cut_at": int(cut_at), "before": before.meta, "after": after.meta},
    )


def mixed_samples_fw(video: SyntheticVideo) -> Tensor:
    """``[T-1,1,H,W]`` bool: pixels x of frame t whose bilinear sample of frame t+1 at ``x + flow_fw``
    touches a pixel of another layer than x's (layer edges, where warping mixes two surfaces even though
    the point itself is visible). Exclude these together with ``occluded_fw`` for exact-warp checks."""
    from hypercon.warp import backward_warp

    layers_next = video.layers[1:].double()
    lo = -F.max_pool2d(-layers_next, 3, stride=1, padding=1)
    hi = F.max_pool2d(layers_next, 3, stride=1, padding=1)
    flow = video.flow_fw.double()
    lo_at, _ = backward_warp(lo, flow, mode="nearest")
    hi_at, _ = backward_warp(hi, flow, mode="nearest")
    own = video.layers[:-1].double()
    return (lo_at != own) | (hi_at != own)


class SyntheticDataset(VideoDataset):
    """``num_videos`` procedural videos ``synth-000, synth-001, …`` (video i drawn from seed (seed, i)).

    ``masks="object"`` uses the sprites as holes (object removal). ``motion(name)`` gives the exact
    flows and occlusions of a video (same frames as ``load``). ``cut_at`` k puts a hard scene cut before
    frame k: from there on the frames come from another drawn scene (seed (seed, i, 1); :func:`splice_cut`). Frames are rendered at ``height × width``;
    ``**options``: the other options every dataset shares (:class:`datasets.base.VideoDataset`).
    """

    name = "synthetic"
    object_mask_kinds = ("object",)
    generated = True  # rendered here, not read from disk: the runner saves the inputs (save_inputs=null)

    def __init__(self, *, num_videos: int = 2, num_frames: int = 12, height: int = 128, width: int = 224,
                 fps: float = 24.0, cut_at: int | None = None, **options: Any):
        super().__init__(size=None, **options)
        if int(num_videos) < 1 or int(num_frames) < 2 or int(height) < 8 or int(width) < 8:
            raise SettingError(f"dataset (synthetic): need num_videos >= 1, num_frames >= 2, height and width >= 8; "
                             f"got {num_videos}, {num_frames}, {height}, {width}")
        if cut_at is not None and not 1 <= int(cut_at) < int(num_frames):
            raise SettingError(f"dataset.cut_at must be null or in [1, num_frames={num_frames}), got {cut_at}")
        self.cut_at = None if cut_at is None else int(cut_at)
        self.num_videos, self.num_frames = int(num_videos), int(num_frames)
        self.height, self.width, self.fps = int(height), int(width), float(fps)

    def _video_names(self) -> list[str]:
        return [f"synth-{i:03d}" for i in range(self.num_videos)]

    def _index(self, name: str) -> int:
        if name not in self._video_names():
            last = f"synth-{self.num_videos - 1:03d}"
            raise KeyError(f"synthetic dataset has no video {name!r} (videos: synth-000 … {last})")
        return int(name.split("-")[1])

    def motion(self, name: str) -> SyntheticVideo:
        """The full ground truth of video ``name``, truncated to ``max_frames``."""
        video = _cached_video((self.seed, self._index(name)), self.num_frames, self.height, self.width, self.cut_at)
        t = self.num_frames if self.max_frames is None else min(self.num_frames, self.max_frames)
        return SyntheticVideo(video.frames[:t], video.flow_fw[: t - 1], video.flow_bw[: t - 1],
                              video.occluded_fw[: t - 1], video.occluded_bw[: t - 1], video.layers[:t], video.meta)

    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        video = self.motion(name)
        return video.frames.clone(), {"source": f"synthetic(seed={self.seed}, index={self._index(name)})",
                                      "fps": self.fps, "synthetic": video.meta}

    def _read_object_masks(self, name, frames, meta):
        known = (self.motion(name).layers == 0).float()
        return known, {"mask_source": "synthetic sprites (hole = sprite)"}

    def _provenance_extra(self) -> dict[str, Any]:
        cut = {} if self.cut_at is None else {"cut_at": self.cut_at}
        return {"num_videos": self.num_videos, "num_frames": self.num_frames, "height": self.height,
                "width": self.width, **cut, "textures": list(BUNDLED_IMAGES)}


@functools.lru_cache(maxsize=2)  # load() and motion() of the same video share one rendering
def _cached_video(seed: tuple[int, int], num_frames: int, height: int, width: int,
                  cut_at: int | None = None) -> SyntheticVideo:
    video = make_synthetic_video(seed, num_frames, height, width)
    if cut_at is None:
        return video
    return splice_cut(video, make_synthetic_video((*seed, 1), num_frames, height, width), cut_at)
