"""Building blocks of the Contextual Attention inpainting generator (Yu et al., CVPR 2018), following the
PyTorch port daa233/generative-inpainting-pytorch (``model/networks.py``, ``utils/tools.py``).

* :class:`GenConv`: conv (zero padding, dilation, bias) + ELU (or none / ReLU); its parameters are
  ``conv.weight`` / ``conv.bias`` as in the port's ``Conv2dBlock``.
* :func:`contextual_attention`: the attention op, a pure tensor function (no parameters).

Padding rule used by the op (TensorFlow "SAME", as the port's ``same_padding``): for an axis of length
``n``, kernel ``k``, stride ``s``: ``total = max((ceil(n/s) − 1)·s + k − n, 0)``, ``before = total // 2``,
``after = total − before``, zeros.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ESCAPE = 1e-4  # added to every squared element before the patch norm (port's escape_NaN)


class GenConv(nn.Module):
    """``activation(conv(x))``: ``nn.Conv2d(cin, cout, k, stride, padding, dilation, bias=True)``;
    ``activation`` is ``"elu"`` (default), ``"relu"`` or ``"none"``."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int = 0,
                 dilation: int = 1, activation: str = "elu") -> None:
        super().__init__()
        if activation not in ("elu", "relu", "none"):
            raise ValueError(f"GenConv: activation must be elu | relu | none, got {activation!r}")
        self.activation = activation
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=padding, dilation=dilation, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if self.activation == "elu":
            return F.elu(x)
        return F.relu(x) if self.activation == "relu" else x


def same_pad(x: Tensor, kernel: int, stride: int = 1) -> Tensor:
    """Zero-pad ``x [B,C,H,W]`` by the TensorFlow SAME rule (module docstring) for ``kernel``/``stride``."""
    pads: list[int] = []
    for n in (x.shape[-1], x.shape[-2]):  # F.pad order: last axis first
        out = -(-n // stride)
        total = max((out - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def extract_patches(x: Tensor, kernel: int, stride: int) -> Tensor:
    """All ``kernel×kernel`` patches of ``x [C,H,W]`` after SAME padding, row-major over patch centres.

    Returns ``[L,C,kernel,kernel]`` with ``L = ceil(H/stride)·ceil(W/stride)``.
    """
    cols = F.unfold(same_pad(x[None], kernel, stride), kernel_size=kernel, stride=stride)  # [1,C·k·k,L]
    return cols[0].T.reshape(-1, x.shape[0], kernel, kernel)


def fuse_scores(scores: Tensor, bg_size: tuple[int, int], k: int = 3) -> Tensor:
    """Propagate matching scores along diagonals to favour coherent patches (CA "fuse" step).

    ``scores [L,hf,wf]``, ``L = hb·wb`` background patches (row-major), foreground grid ``hf×wf``.
    Seen as a 2-D map ``S[l, p]`` (rows: background index, columns: foreground index), a k×k identity
    kernel with SAME padding gives ``S'[l, p] = Σ_d S[l+d, p+d]``, ``d`` in ``[−(k−1)//2, k//2]``, zeros
    outside. It is applied once with both indices flattened row-major (horizontal neighbours; the
    flattening wraps at row ends, as upstream) and once column-major (vertical neighbours).
    """
    hb, wb = bg_size
    _, hf, wf = scores.shape
    eye = torch.eye(k, dtype=scores.dtype, device=scores.device).view(1, 1, k, k)
    s = F.conv2d(same_pad(scores.reshape(1, 1, hb * wb, hf * wf), k), eye)
    s = s.reshape(hb, wb, hf, wf).permute(1, 0, 3, 2).reshape(1, 1, wb * hb, wf * hf)
    s = F.conv2d(same_pad(s, k), eye)
    return s.reshape(wb, hb, wf, hf).permute(1, 0, 3, 2).reshape(hb * wb, hf, wf)


def contextual_attention(fg: Tensor, bg: Tensor, hole: Tensor, ksize: int = 3, rate: int = 2,
                         fuse_k: int = 3, softmax_scale: float = 10.0, fuse: bool = True) -> Tensor:
    """Fill ``fg`` with background patches weighted by their cosine similarity (patch stride 1).

    Args:
        fg, bg: features ``[B,C,h,w]`` (the generator passes the same tensor), ``h, w`` even.
        hole: ``[B,1,H,W]`` at image resolution, 1 = hole, ``H = 4h`` (features are at 1/4 scale).
    Returns:
        ``[B,C,h,w]``.

    Per sample: ``fg`` and ``bg`` are subsampled by ``rate`` (nearest); background ``ksize²`` patches
    ``w_l`` are normalised by ``sqrt(Σ (w_l² + 1e-4))``; scores are the correlation of each foreground
    position's SAME-padded neighbourhood with every ``w_l``, optionally :func:`fuse_scores`-d; patches
    touching the hole (hole subsampled by ``4·rate``, zero-padded ``ksize²`` window has non-zero mean)
    get score 0 and weight 0 after ``softmax(scale·score)`` over l; the output pastes the full-resolution
    ``2·rate`` background patches (stride ``rate``, SAME padding) with these weights by a transposed
    convolution (padding 1) and divides by 4. Deviation from the port: it uses the first sample's
    mask for the whole batch; here each sample uses its own ``hole`` (identical for batch size 1).
    """
    b, c, h, w = fg.shape
    if h % rate or w % rate or hole.shape[-2:] != (4 * h, 4 * w):
        raise ValueError(f"contextual_attention: features {tuple(fg.shape)} must have sizes divisible by "
                         f"rate={rate} and hole {tuple(hole.shape)} must be 4× their size")
    raw = 2 * rate
    fg_small = F.interpolate(fg, scale_factor=1.0 / rate, mode="nearest")
    bg_small = F.interpolate(bg, scale_factor=1.0 / rate, mode="nearest")
    hole_small = F.interpolate(hole.to(fg.dtype), scale_factor=1.0 / (4 * rate), mode="nearest")
    hf, wf = fg_small.shape[-2:]
    hb, wb = bg_small.shape[-2:]
    outs = []
    for i in range(b):
        raw_patches = extract_patches(bg[i], raw, rate)                      # [L,C,2r,2r]
        patches = extract_patches(bg_small[i], ksize, 1)                    # [L,C,k,k]
        patches = patches / (patches.square() + ESCAPE).sum(dim=(1, 2, 3), keepdim=True).sqrt()
        scores = F.conv2d(same_pad(fg_small[i : i + 1], ksize), patches)[0]  # [L,hf,wf]
        if fuse:
            scores = fuse_scores(scores, (hb, wb), fuse_k)
        usable = (extract_patches(hole_small[i], ksize, 1).mean(dim=(1, 2, 3)) == 0).to(fg.dtype)
        usable = usable.view(-1, 1, 1)                                        # [L,1,1]
        attn = F.softmax(scores * usable * softmax_scale, dim=0) * usable
        outs.append(F.conv_transpose2d(attn[None], raw_patches, stride=rate, padding=1) / 4.0)
    return torch.cat(outs, dim=0)
