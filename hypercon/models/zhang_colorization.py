"""Zhang et al.'s automatic colourisation networks as released in richzhang/colorization (PyTorch port of the
Caffe models): ECCV16 ("Colorful Image Colorization") and SIGGRAPH17 ("Real-Time User-Guided Image
Colorization"), one loader each, and the frame-wise image model ``model=zhang_colorization``.

Read at richzhang/colorization ``colorizers/eccv16.py`` and ``base_color.py`` (commit
``4bda68f69f8b1c6900534b8e6ce7f0283ee8e181``), ``siggraph17.py`` (commit
``c7de55e38f8127da1d3412f11157d384de50d268``, whose layers and key names are those of the released
``siggraph17-df00044c.pth``) and ``util.py`` (commit ``04ac1f3fe17c4dd4b91647ea8603f2273c1c9a75``).
Module and state-dict names are upstream's, so the released files load with ``strict=True``:

* a *block* is ``nn.Sequential`` of 3×3 convs (padding = dilation), each followed by ReLU, then BatchNorm:
  ``model<k>.0/.2/.4.weight|bias`` convs, ``model<k>.<last>`` the norm (weight, bias, running stats);
* **ECCV16** (input L only): ``model1`` 1→64→64 (2nd conv stride 2), ``model2`` 64→128→128 (stride 2),
  ``model3`` 128→256×3 (3rd stride 2), ``model4`` 256→512×3, ``model5``/``model6`` 512×3 dilation 2,
  ``model7`` 512×3; ``model8``: ConvTranspose 4×4/2 512→256, ReLU, two 3×3 256→256 with ReLU, 1×1 256→313
  (``model8.0/.2/.4/.6``, no norm); softmax over the 313 ab bins; ``model_out`` 1×1 313→2 without bias (the
  bins' ab centres, learned); bilinear ×4 to the input size;
* **SIGGRAPH17** (input L, ab hints, hint mask: 4 channels): ``model1`` 4→64→64, ``model2``, ``model3``,
  ``model4`` as ECCV16 but all stride 1, the input of ``model2..4`` subsampled ``[::2, ::2]``; ``model5..7``
  as ECCV16; decoder ``model8up`` (ConvTranspose 512→256) + ``model3short8`` (3×3 256→256) → ``model8``
  (ReLU, 256→256×2, norm); ``model9up`` + ``model2short9`` → ``model9`` (ReLU, 128→128, norm); ``model10up`` +
  ``model1short10`` → ``model10`` (ReLU, 3×3 128→128, LeakyReLU 0.2); ``model_out`` 1×1 128→2 + tanh.
  ``model_class`` (1×1 256→529, the classification head used in training) is in the checkpoint but unused.

Both take ``(L − 50) / 100`` and give ``ab / 110`` (hints in as ``ab / 110``); the ab are multiplied by 110.
Frames are colourised as upstream's demo does (``preprocess_img`` / ``postprocess_tens``): the RGB frame is
resized to 256×256 (bicubic with antialiasing, like PIL's ``BICUBIC``; the 8-bit rounding of the PIL image is
not repeated), its L is predicted on, the ab are resized bilinearly to the frame's size and joined with the
full-size L, Lab → RGB. SIGGRAPH17 runs with empty hints (ab = 0, mask = 0), as the demo.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.models.base import ImageModel
from hypercon.tasks import lab_to_rgb, rgb_to_lab


VARIANTS = ("eccv16", "siggraph17")
WEIGHTS = {"eccv16": "zhang_eccv16", "siggraph17": "zhang_siggraph17"}  # manifest entries
LABELS = {"eccv16": "Zhang ECCV16", "siggraph17": "Zhang SIGGRAPH17"}
NET_SIZE = 256  # upstream's HW=(256, 256)
L_CENT, L_NORM, AB_NORM = 50.0, 100.0, 110.0


def conv_block(channels: list[int], strides: list[int] | None = None, dilation: int = 1, norm: bool = True,
               lead_relu: bool = False) -> nn.Sequential:
    """``[ReLU,] (conv 3×3, ReLU) per step of channels, [BatchNorm]`` with upstream's indices."""
    strides = strides or [1] * (len(channels) - 1)
    layers: list[nn.Module] = [nn.ReLU(True)] if lead_relu else []
    for cin, cout, stride in zip(channels[:-1], channels[1:], strides):
        layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation), nn.ReLU(True)]
    return nn.Sequential(*layers, *([nn.BatchNorm2d(channels[-1])] if norm else []))


def _trunk(net: nn.Module, first: int, strides: bool) -> None:
    """``model1..model7`` (shared layout; ECCV16 strides inside the blocks, SIGGRAPH17 subsamples between)."""
    s = (lambda n: [1] * (n - 1) + [2]) if strides else (lambda n: None)
    net.model1 = conv_block([first, 64, 64], s(2))
    net.model2 = conv_block([64, 128, 128], s(2))
    net.model3 = conv_block([128, 256, 256, 256], s(3))
    net.model4 = conv_block([256, 512, 512, 512])
    net.model5 = conv_block([512] * 4, dilation=2)
    net.model6 = conv_block([512] * 4, dilation=2)
    net.model7 = conv_block([512] * 4)


class ECCVGenerator(nn.Module):
    """``forward(l_norm [B,1,H,W]) -> ab [B,2,H,W]`` in ab units (H, W multiples of 8; 256 in use)."""

    def __init__(self) -> None:
        super().__init__()
        _trunk(self, 1, strides=True)
        self.model8 = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(True),
                                    *conv_block([256, 256, 256], norm=False), nn.Conv2d(256, 313, 1))
        self.model_out = nn.Conv2d(313, 2, 1, bias=False)

    def forward(self, l_norm: Tensor) -> Tensor:
        x = l_norm
        for block in (self.model1, self.model2, self.model3, self.model4, self.model5, self.model6, self.model7,
                      self.model8):
            x = block(x)
        ab = self.model_out(torch.softmax(x, dim=1))
        return F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False) * AB_NORM


class SIGGRAPHGenerator(nn.Module):
    """``forward(l_norm [B,1,H,W], ab_hint [B,2,H,W] in ab/110, mask [B,1,H,W]) -> ab [B,2,H,W]`` in ab
    units (H, W multiples of 8)."""

    def __init__(self, classes: int = 529) -> None:
        super().__init__()
        _trunk(self, 4, strides=False)
        self.model8up = nn.Sequential(nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1))
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, 3, padding=1))
        self.model8 = conv_block([256, 256, 256], lead_relu=True)
        self.model9up = nn.Sequential(nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1))
        self.model9 = conv_block([128, 128], lead_relu=True)
        self.model10up = nn.Sequential(nn.ConvTranspose2d(128, 128, 4, stride=2, padding=1))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, 3, padding=1))
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(128, 128, 3, padding=1), nn.LeakyReLU(0.2))
        self.model_class = nn.Sequential(nn.Conv2d(256, classes, 1))  # training head, unused here
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, l_norm: Tensor, ab_hint: Tensor, mask: Tensor) -> Tensor:
        conv1 = self.model1(torch.cat([l_norm, ab_hint, mask], dim=1))
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        x = self.model4(conv3[:, :, ::2, ::2])
        x = self.model7(self.model6(self.model5(x)))
        x = self.model8(self.model8up(x) + self.model3short8(conv3))
        x = self.model9(self.model9up(x) + self.model2short9(conv2))
        x = self.model10(self.model10up(x) + self.model1short10(conv1))
        return self.model_out(x) * AB_NORM


NETWORKS: dict[str, type[nn.Module]] = {"eccv16": ECCVGenerator, "siggraph17": SIGGRAPHGenerator}


def load_colorizer(state: Mapping[str, object], variant: str, source: str = "checkpoint") -> nn.Module:
    """The one loader: an upstream state dict → :class:`ECCVGenerator` / :class:`SIGGRAPHGenerator` (eval).

    Keys and shapes must be upstream's exactly (``strict=True``); only BatchNorm ``num_batches_tracked``
    counters may be absent (checkpoints saved before torch 0.4.1 lack them; torch fills them in).

    Raises:
        ValueError: one line naming ``source``: missing / unexpected keys or wrong shapes.
    """
    if variant not in NETWORKS:
        raise ValueError(f"model=zhang_colorization: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    net = NETWORKS[variant]()
    what = f"{source} is not a Zhang et al. {variant} colorizer state dict"
    if not isinstance(state, Mapping):
        raise ValueError(f"{what}: got {type(state).__name__}")
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(v.shape)} (expected {tuple(expected[k].shape)})" for k, v in state.items()
             if k in expected and isinstance(v, Tensor) and v.shape != expected[k].shape]
    problems = [f"{label} {', '.join(keys[:3])}{f' (+{len(keys) - 3} more)' if len(keys) > 3 else ''}"
                for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
    if problems:
        raise ValueError(f"{what}: {'; '.join(problems)}")
    net.load_state_dict(dict(state), strict=True)
    return net.eval()


def colorize(net: nn.Module, frames: Tensor) -> Tensor:
    """Colourise ``frames [B,3,H,W]`` RGB in [0,1] (grey or not: only their L is used) → ``[B,3,H,W]`` in
    [0,1], upstream's demo pipeline (module doc): predict ab at 256×256, upsample bilinearly, full-size L."""
    small = F.interpolate(frames, size=(NET_SIZE, NET_SIZE), mode="bicubic", align_corners=False,
                          antialias=True).clamp(0, 1)
    l_norm = (rgb_to_lab(small)[:, :1] - L_CENT) / L_NORM
    if isinstance(net, SIGGRAPHGenerator):  # empty user hints: ab 0, mask 0
        ab = net(l_norm, torch.zeros_like(l_norm).expand(-1, 2, -1, -1), torch.zeros_like(l_norm))
    else:
        ab = net(l_norm)
    ab = F.interpolate(ab, size=frames.shape[-2:], mode="bilinear", align_corners=False)
    return lab_to_rgb(torch.cat([rgb_to_lab(frames)[:, :1], ab], dim=1))


class ZhangColorization(ImageModel):
    """``model=zhang_colorization variant=eccv16|siggraph17``: frame-wise colourisation with Zhang et al.'s
    released weights (tier paper; manifest entries ``zhang_eccv16``, ``zhang_siggraph17``). Takes the
    ``colorize`` task's input (luma replicated to 3 channels). Weights: explicit ``weights`` file, else
    ``weights_dir`` / ``$HYPERCON_WEIGHTS`` / the torch hub cache; a missing file stops the run at
    construction, naming the file, where to put it and its source."""

    name = "zhang_colorization"
    tier = "paper"

    def __init__(self, variant: str = "eccv16", weights: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 4) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"model=zhang_colorization: variant must be one of {', '.join(VARIANTS)}, "
                             f"got {variant!r}")
        from hypercon.weights import load_pretrained

        self.variant, self.label, self.device, self.batch_size = variant, LABELS[variant], device, batch_size
        net, self._weights_record = load_pretrained(
            WEIGHTS[variant], lambda state, source: load_colorizer(state, variant, source=source), weights=weights,
            weights_dir=weights_dir, owner="model=zhang_colorization")
        self.net = net.to(device)

    def options(self) -> dict[str, object]:
        return {"variant": self.variant}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return colorize(self.net, frames.to(self.device, torch.float32))
