"""hypercon-bench: HyperCon (Szeto et al., WACV 2021) and a benchmark harness for temporally
consistent video-to-video translation.

Conventions (stated once, checked in :mod:`hypercon.checks`):

* frames ``[T,3,H,W]`` float32 RGB in [0, 1];
* masks ``[T,1,H,W]`` float32, **1 = known pixel, 0 = hole** (composite = M·G + (1−M)·P);
* flow ``[2,H,W]`` / ``[B,2,H,W]`` float32 in pixels, channel 0 = dx, channel 1 = dy;
  ``flow_a_to_b`` lives on a's pixel grid: pixel x of a moves to x + f(x) in b;
* backward warp: ``out(x) = src(x + flow(x))`` — warping b with ``flow_a_to_b`` aligns b onto a.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``from hypercon import apply_hypercon, evaluate`` (:mod:`hypercon.api`), imported on first use."""
    if name in ("apply_hypercon", "evaluate"):
        from hypercon import api

        return getattr(api, name)
    raise AttributeError(f"module 'hypercon' has no attribute {name!r}")
