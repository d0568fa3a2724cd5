"""The harness's tensor conventions, stated once, with cheap checkers.

* Frames: ``[T,3,H,W]`` (or ``[B,3,H,W]``) float32, RGB, values in [0, 1].
* Masks (``known``): ``[T,1,H,W]`` float32, 1 = known pixel, 0 = hole (the paper's polarity;
  composite = known·G + (1−known)·P). Adapters convert upstream polarities (255 = hole, …). Before a
  method sees an inpainting input, its holes hold :data:`HOLE_PLACEHOLDER` (:func:`hide_holes`).
* Flow: ``[2,H,W]`` or ``[B,2,H,W]`` float32 in pixels, channel 0 = dx (columns), 1 = dy (rows).
  ``flow_a_to_b`` is defined on a's grid: pixel x of a moves to x + flow(x) in b.
* Backward warp: ``out(x) = src(x + flow(x))``; warping b with ``flow_a_to_b`` aligns b onto a.

Every shape checker raises ``ValueError`` naming the argument and the shape / range it got. Value checks:
:func:`check_finite` (NaN / inf from a component → :class:`NonFiniteError`), :func:`warn_if_constant`
(a constant frame-wise output: broken weights), :func:`check_known_pixels` (the inpainting mask rule).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import Tensor

from hypercon.errors import UserError

log = logging.getLogger(__name__)


def check_frames(x: Tensor, name: str = "frames", check_range: bool = False) -> Tensor:
    """Check ``x`` is ``[N,3,H,W]`` floating point (optionally within [0,1]); return it."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor [N,3,H,W], got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"{name}: expected shape [N,3,H,W] (RGB), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor in [0,1], got dtype {x.dtype}")
    if check_range and x.numel() and (x.min() < -1e-4 or x.max() > 1 + 1e-4):
        raise ValueError(
            f"{name}: values must lie in [0,1], got [{x.min().item():.4g}, {x.max().item():.4g}]"
        )
    return x


def check_known(known: Tensor, frames: Tensor | None = None, name: str = "known") -> Tensor:
    """Check a mask ``[N,1,H,W]`` (1 = known, 0 = hole) matching ``frames`` if given."""
    if not isinstance(known, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor [N,1,H,W], got {type(known).__name__}")
    if known.ndim != 4 or known.shape[1] != 1:
        raise ValueError(f"{name}: expected shape [N,1,H,W] (1 = known, 0 = hole), got {tuple(known.shape)}")
    if frames is not None and (known.shape[0] != frames.shape[0] or known.shape[-2:] != frames.shape[-2:]):
        raise ValueError(
            f"{name}: mask shape {tuple(known.shape)} does not match frames {tuple(frames.shape)} "
            "(need one mask per frame, same H and W)"
        )
    return known


def check_flow(flow: Tensor, name: str = "flow") -> Tensor:
    """Check a flow ``[B,2,H,W]`` float tensor in pixels (dx, dy)."""
    if not isinstance(flow, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor [B,2,H,W], got {type(flow).__name__}")
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"{name}: expected shape [B,2,H,W] (dx, dy in pixels), got {tuple(flow.shape)}")
    if not flow.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor, got dtype {flow.dtype}")
    return flow


def frames_from_uint8(array: np.ndarray) -> Tensor:
    """``[T,H,W,3]`` (or ``[H,W,3]``) uint8 RGB → ``[T,3,H,W]`` (or ``[3,H,W]``) float32 in [0,1]."""
    t = torch.from_numpy(np.ascontiguousarray(array))
    t = t.permute(0, 3, 1, 2) if t.ndim == 4 else t.permute(2, 0, 1)
    return t.float().div_(255.0)


def frames_to_uint8(frames: Tensor) -> np.ndarray:
    """``[T,3,H,W]`` (or ``[3,H,W]``) float in [0,1] → ``[T,H,W,3]`` (or ``[H,W,3]``) uint8, rounded."""
    x = frames.detach().float().clamp(0, 1).mul(255.0).round_().to(torch.uint8).cpu()
    x = x.permute(0, 2, 3, 1) if x.ndim == 4 else x.permute(1, 2, 0)
    return x.contiguous().numpy()


#: the neutral grey written into hole pixels (of input frames, and of interpolated frames), so that no
#: value from a hole reaches an image model
HOLE_PLACEHOLDER = 0.5


def composite(pred: Tensor, source: Tensor, known: Tensor) -> Tensor:
    """Paste known pixels back: ``known·source + (1−known)·pred`` (the paper's compositing)."""
    return known * source + (1.0 - known) * pred


def hide_holes(frames: Tensor, known: Tensor, placeholder: float = HOLE_PLACEHOLDER) -> Tensor:
    """``known·frames + (1 − known)·placeholder``: hole pixels get the neutral placeholder."""
    return known * frames + (1.0 - known) * placeholder


# ------------------------------------------------------------------------------- integrity of values


class NonFiniteError(UserError):
    """A component produced NaN or inf (usually broken weights); the message names the component."""


class NoKnownPixelsError(UserError):
    """An inpainting mask leaves some frame without a single known pixel (see :func:`check_known_pixels`)."""


def check_finite(x: Tensor, what: str) -> Tensor:
    """Raise :class:`NonFiniteError` naming ``what`` (e.g. ``"model 'fst_engstrom'"``) when ``x`` holds NaN
    or inf; return ``x``. One reduction over the tensor: cheap next to any network forward."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        bad = ~torch.isfinite(x)
        kinds = [k for k, m in (("NaN", torch.isnan(x)), ("inf", torch.isinf(x))) if bool(m.any())]
        where = ""
        if x.ndim >= 1 and x.shape[0] > 1:
            items = bad.reshape(x.shape[0], -1).any(dim=1).nonzero().flatten().tolist()
            where = f" in item(s) {items[:8]}{'…' if len(items) > 8 else ''} of the batch"
        raise NonFiniteError(f"{what} produced {' and '.join(kinds)} ({int(bad.sum())} of {x.numel()} values"
                             f"{where}): its weights or inputs are broken; check them with "
                             f"`python -m hypercon.weights status`")
    return x


def warn_if_constant(frames: Tensor, what: str, atol: float = 1e-6) -> bool:
    """Log a warning and return True when ``frames [T,3,H,W]`` hold a single value everywhere (every pixel
    of every frame: e.g. all black), which for a frame-wise translation almost always means broken
    weights (the input video itself is never constant). ``what`` names the output, e.g.
    ``"frame-wise output of model 'fst_engstrom' on video 'bear'"``."""
    if frames.numel() == 0:
        return False
    spread = float((frames.amax() - frames.amin()).item())
    if spread > atol:
        return False
    log.warning("%s is constant (every pixel of every frame = %.4g): the model's weights are probably "
                "broken; its metrics mean nothing", what, float(frames.flatten()[0].item()))
    return True


def check_known_pixels(known: Tensor, video: str) -> Tensor:
    """The mask rule for inpainting videos (``known [T,1,H,W]``, 1 = known):

    * every frame must keep at least one known pixel, else :class:`NoKnownPixelsError` naming the video and
      the frames: an all-hole frame gives a model nothing to inpaint from (its output is the grey
      :data:`HOLE_PLACEHOLDER`, whose E_warp is ~0, a perfect-looking number that means nothing);
    * a video with no hole pixel at all gets a warning naming it: there is nothing to inpaint, and the
      hole-restricted metrics are reported as ``unavailable (no hole pixels)``.
    """
    per_frame = (known > 0.5).flatten(1).any(dim=1)
    if not bool(per_frame.all()):
        empty = (~per_frame).nonzero().flatten().tolist()
        shown = ", ".join(map(str, empty[:10])) + (", …" if len(empty) > 10 else "")
        raise NoKnownPixelsError(
            f"video {video!r}: the mask leaves no known pixel in {len(empty)} of {known.shape[0]} frame(s) "
            f"(frames {shown}); an inpainting model needs some known pixels in every frame: fix the masks "
            f"(white = hole) or lower dataset.mask_dilation")
    if bool((known > 0.5).all()):
        log.warning("video %r: the mask has no hole pixel (every pixel known): nothing to inpaint; "
                    "hole-restricted metrics will be unavailable", video)
    return known
