"""Lai et al.'s blind video consistency ("vcons", ECCV 2018) as a post-processor of any image model.

Given the input frames I and the frame-wise output P of the model (the runner's reference), the output is
``O_0 = P_0`` and ``O_t = P_t + net(cat(P_t, O_{t−1}, I_t, I_{t−1}))`` for t ≥ 1, with the ConvLSTM state
carried over the whole video (no gradient). As ``test_pretrained.py`` does, the four inputs are resized
(bilinear) to multiples of 4; the residual is resized back and added to P_t at its own size (upstream adds
it to the resized P_t and resizes the sum back, which blurs P when the size is not a multiple of 4; the
two agree at multiples of 4, e.g. 832×480). O_t is produced frame by frame, so memory does not grow with
the video beyond the output itself.

``feedback``: what the recurrence sees as O_{t−1}. Upstream re-reads it from the JPEG it just saved, so:
``uint8`` (default) clips to [0,1] and rounds to 1/255; ``jpeg95`` also JPEG-codes it at quality 95
(OpenCV's default, exactly upstream); ``float`` feeds the raw residual output. The output itself is
clipped to [0,1].

``checkpoint``: ``trained`` (the checkpoint trained here and shipped in ``hypercon/weights/trained/``,
tier trained-here), ``paper`` (Lai's ``ECCV18_blind_consistency.pth`` through the weights registry, with
``ECCV18_blind_consistency_opts.pth`` when present; tier paper), or a path: a trained-here ``X.pt`` with
its sidecar, or a file in upstream's format (tier paper). The file is loaded when the method is built, so
a missing one stops the run before any work.

Inpainting (paper §4.3): I_t is the masked source with a placeholder in the hole — ``placeholder`` = ``0.5``
(default: grey, Contextual Attention's own zero in [−1, 1]; the runner's hidden-hole value) | ``0`` (black) |
``noise`` (uniform in [0,1], seeded by ``seed``); P_t is the composited frame-wise inpainting and O is
composited with the known pixels again. The paper does not give the value.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from baselines.vcons.network import (MULTIPLE, TransformNet, options_from_namespace, options_from_state_dict,
                                     transformnet_from_checkpoint)
from hypercon.checks import check_frames, composite
from hypercon.component import TRAINED_HERE, Component
from hypercon.method import PaperRow, VideoMethod
from hypercon.resize import resize_frames
from hypercon.models.base import ImageModel

log = logging.getLogger(__name__)

FEEDBACK = ("uint8", "jpeg95", "float")
NOISE = "noise"
SHIPPED = "vcons_offline"  # the manifest name of the shipped trained-here checkpoint
PAPER_WEIGHTS, PAPER_OPTIONS = "lai_vcons", "lai_vcons_opts"


def feed_back(output: Tensor, mode: str) -> Tensor:
    """O_{t−1} as the recurrence sees it (``[B,3,H,W]``): see ``feedback`` in the module docstring."""
    if mode == "float":
        return output
    if mode not in FEEDBACK:
        raise ValueError(f"method.feedback must be one of {FEEDBACK}, got {mode!r}")
    quantised = torch.round(output.clamp(0, 1) * 255)
    if mode == "jpeg95":
        import cv2

        decoded = []
        for frame in quantised.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy():
            ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
            decoded.append(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy())
        quantised = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).to(output)
    return quantised / 255


def fill_holes(frames: Tensor, known: Tensor, placeholder: float | str, seed: int = 0) -> Tensor:
    """``frames`` ``[T,3,H,W]`` with the hole pixels (``known = 0``) set to ``placeholder``: a value in [0,1] or
    ``"noise"`` (uniform in [0,1] from ``torch.Generator().manual_seed(seed)``, one draw per pixel and frame)."""
    if placeholder == NOISE:
        fill = torch.rand(frames.shape, generator=torch.Generator().manual_seed(int(seed))).to(frames)
    else:
        fill = torch.full_like(frames, check_placeholder(placeholder))
    return known * frames + (1.0 - known) * fill


def check_placeholder(placeholder: float | str) -> float | str:
    """``placeholder`` as :func:`fill_holes` takes it, or a one-line error naming ``method.placeholder``."""
    if placeholder == NOISE:
        return NOISE
    try:
        value = float(placeholder)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"method.placeholder must be a value in [0, 1] (0.5 grey, 0 black) or 'noise', "
                         f"got {placeholder!r}")
    return value


def multiple_of(size_hw: tuple[int, int], multiple: int = MULTIPLE) -> tuple[int, int]:
    """Upstream's working size: each side rounded up to a multiple (``ceil(s / m) · m``)."""
    return tuple(-(-int(s) // multiple) * multiple for s in size_hw)  # type: ignore[return-value]


@torch.no_grad()
def vcons_video(net: TransformNet, source: Tensor, processed: Tensor, feedback: str = "uint8") -> Tensor:
    """Lai et al.'s inference on one video: ``source`` I and ``processed`` P ``[T,3,H,W]`` → O ``[T,3,H,W]``
    (clipped to [0,1]; ``O_0 = P_0``). Runs on ``net``'s device; returns on ``source``'s."""
    device = next(net.parameters()).device
    height, width = source.shape[-2:]
    size = multiple_of((height, width))
    outputs = [processed[:1].clamp(0, 1)]
    previous, state = feed_back(processed[:1].to(device), feedback), None
    for t in range(1, source.shape[0]):
        p_t = processed[t : t + 1].to(device)
        inputs = torch.cat([resize_frames(x, size) for x in (p_t, previous, source[t : t + 1].to(device),
                                                        source[t - 1 : t].to(device))], dim=1)
        residual, state = net(inputs, state)
        o_t = p_t + resize_frames(residual, (height, width))
        previous = feed_back(o_t, feedback)
        outputs.append(o_t.clamp(0, 1).to(source.device))
    return torch.cat(outputs)


def load_vcons(checkpoint: str, weights_dir: str | None = None) -> tuple[TransformNet, str, dict[str, Any]]:
    """``(net, tier, weights record)`` for ``checkpoint`` = ``trained`` | ``paper`` | a path (module doc)."""
    from baselines.common.sidecar import load_trained, sidecar_path
    from hypercon.weights import load_checkpoint, resolve_weights
    from hypercon.weights.manifest import MissingWeightsError

    if checkpoint == "trained" or (checkpoint != "paper" and sidecar_path(checkpoint).is_file()):
        trained = load_trained(SHIPPED if checkpoint == "trained" else checkpoint, weights_dir)
        state = trained.modules["net"]
        net = transformnet_from_checkpoint(state, options_from_state_dict(state), str(trained.path))
        return net, TRAINED_HERE, trained.record()
    resolved = resolve_weights(PAPER_WEIGHTS, path=None if checkpoint == "paper" else checkpoint,
                               weights_dir=weights_dir)
    options, options_file = {}, None
    try:
        opts = resolve_weights(PAPER_OPTIONS, path=Path(resolved.path).parent if checkpoint != "paper" else None,
                               weights_dir=weights_dir)
        options, options_file = options_from_namespace(load_checkpoint(opts)), str(opts.path)
    except MissingWeightsError:
        log.info("vcons: %s not found; using train.py's defaults %s", PAPER_OPTIONS, options)
    net = transformnet_from_checkpoint(load_checkpoint(resolved), options, str(resolved.path))
    return net, "paper", {**resolved.record(), "options_file": options_file}


class BlindConsistency(VideoMethod):
    """``run(frames [T,3,H,W], known [T,1,H,W] | None, reference [T,3,H,W]) -> [T,3,H,W]`` (module doc)."""

    name = "vcons"
    needs_reference_input = True
    paper_rows = (PaperRow("table1", "FST-vcons", "needs Lai et al.'s ECCV18_blind_consistency.pth "
                           "(method=vcons method.checkpoint=paper)", strict=True),
                  PaperRow("table2", "Cxtattn-vcons", "needs Lai et al.'s ECCV18_blind_consistency.pth "
                           "(method=vcons method.checkpoint=paper model=cxtattn)", strict=True))

    def __init__(self, model: ImageModel, checkpoint: str = "trained", feedback: str = "uint8",
                 weights_dir: str | None = None, device: str = "cpu", placeholder: float | str = 0.5,
                 seed: int = 0) -> None:
        if feedback not in FEEDBACK:
            raise ValueError(f"method.feedback must be one of {FEEDBACK}, got {feedback!r}")
        self.placeholder, self.seed = check_placeholder(placeholder), int(seed)
        self.model, self.checkpoint, self.feedback, self.device = model, str(checkpoint), feedback, device
        self.net, self.tier, self._weights_record = load_vcons(self.checkpoint, weights_dir)
        self.net.to(device).eval()

    @classmethod
    def from_network(cls, model: ImageModel, net: TransformNet, feedback: str = "uint8") -> "BlindConsistency":
        """Wrap a given network (tests, timing; no weights record, tier offline)."""
        obj = cls.__new__(cls)
        obj.model, obj.checkpoint, obj.feedback, obj.device = model, "given", feedback, "cpu"
        obj.net, obj.tier, obj._weights_record = net.eval(), "offline", None
        obj.placeholder, obj.seed = 0.5, 0
        return obj

    def label(self) -> str:
        """``FST-vcons`` (the paper's row name) with Lai's checkpoint; qualified otherwise, e.g.
        ``FST-vcons (trained here, jpeg95)``, ``Cxtattn-vcons (placeholder noise)``."""
        where = {"paper": None, "trained": "trained here", "given": "given network"}.get(
            self.checkpoint, Path(self.checkpoint).stem)
        fill = None if self.placeholder == 0.5 else f"placeholder {self.placeholder:g}" if isinstance(
            self.placeholder, float) else f"placeholder {self.placeholder}"
        qualifiers = [q for q in (where, None if self.feedback == "uint8" else self.feedback, fill) if q]
        return f"{self.model.display_label()}-vcons" + (f" ({', '.join(qualifiers)})" if qualifiers else "")

    def options(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "feedback": self.feedback, "placeholder": self.placeholder,
                "seed": self.seed, "network": {"nf": self.net.nf, "blocks": self.net.blocks, "norm": self.net.norm}}

    def components(self) -> dict[str, Component]:
        return {"model": self.model}

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        check_frames(frames, "frames")
        if reference is None or reference.shape != frames.shape:
            raise ValueError("method=vcons needs the frame-wise output of its model as `reference`, shaped like "
                             f"the frames {tuple(frames.shape)} (the runner passes it from its cache)")
        if known is None:
            return vcons_video(self.net, frames, reference, self.feedback)
        source = fill_holes(frames, known, self.placeholder, self.seed)  # I_t: the masked source, placeholder fill
        return composite(vcons_video(self.net, source, reference, self.feedback), frames, known)
