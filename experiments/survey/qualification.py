"""The qualification test of the survey (HyperCon appendix A.2): 10 triplets made from one video that is in
no test set, under a simple per-frame darkening filter (all RGB values × a constant per frame). Video 1 is
the reference; one of videos 2 and 3 IS the reference, the other is blatantly different. A worker must
match at least :data:`PASS_MARK` of :data:`NUM_TRIPLETS` to answer tasks.

The video is procedural (:func:`datasets.synthetic.make_synthetic_video`) with a 4-int seed, which the
synthetic dataset never draws (its videos use 2- and 3-int seeds), so it is in no test set by construction.
"""

from __future__ import annotations

import numpy as np

NUM_TRIPLETS = 10
PASS_MARK = 8
SEED = (2021, 17, 2, 3)  # 4 ints: never a synthetic test video (those are (seed, i) or (seed, i, 1))
#: the darkening patterns: a factor per frame
PATTERNS = ("none", "constant", "random")  # the paper's three examples


def darkening(pattern: str, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Per-frame factors ``[T]`` in (0, 1]: ``none`` (all 1), ``constant`` (one factor in 0.35–0.55) or
    ``random`` (each frame in 0.25–1, drawn independently: flicker)."""
    if pattern == "none":
        return np.ones(num_frames)
    if pattern == "constant":
        return np.full(num_frames, rng.uniform(0.35, 0.55))
    if pattern == "random":
        return rng.uniform(0.25, 1.0, num_frames)
    raise ValueError(f"darkening pattern must be one of {PATTERNS}, got {pattern!r}")


def apply_darkening(frames: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``frames`` uint8 ``[T,H,W,3]`` with frame t's RGB values × ``factors[t]`` (rounded, uint8)."""
    return np.clip(np.rint(frames.astype(np.float64) * factors[:, None, None, None]), 0, 255).astype(np.uint8)


def make_triplets(num_frames: int = 12, height: int = 96, width: int = 160, seed: int = 0):
    """The test: ``(videos, triplets)``. ``videos`` maps a clip key to uint8 ``[T,H,W,3]`` frames; each of
    the :data:`NUM_TRIPLETS` triplets is ``{"reference": key, "candidates": [key, key], "correct": 0 | 1}``
    (the index of the candidate that is the reference)."""
    from datasets.synthetic import make_synthetic_video
    from hypercon.checks import frames_to_uint8

    base = frames_to_uint8(make_synthetic_video(SEED, num_frames, height, width).frames)
    rng = np.random.default_rng(seed)
    videos, triplets = {}, []
    for k in range(NUM_TRIPLETS):
        same, odd = rng.choice(len(PATTERNS), size=2, replace=False)
        ref = f"q{k}-{PATTERNS[same]}"
        other = f"q{k}-{PATTERNS[odd]}"
        videos[ref] = apply_darkening(base, darkening(PATTERNS[same], num_frames, rng))
        videos[other] = apply_darkening(base, darkening(PATTERNS[odd], num_frames, rng))
        correct = int(rng.integers(2))
        candidates = [ref, other] if correct == 0 else [other, ref]
        triplets.append({"reference": ref, "candidates": candidates, "correct": correct})
    return videos, triplets


def score(answers: list[int], triplets: list[dict]) -> int:
    """How many of ``answers`` (candidate index 0 / 1 per triplet, in order) are correct."""
    return sum(int(a == t["correct"]) for a, t in zip(answers, triplets))
