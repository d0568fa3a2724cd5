"""The resumable training state: modules, optimisers, LR schedules, every RNG, the sampler position.

One file, ``<out_dir>/last.pt``, written atomically (:func:`hypercon.io.atomic.atomic_path`: a temporary
file beside it, then ``os.replace``), so a kill at any moment leaves the previous checkpoint intact. It holds
tensors, numbers, strings and nested dicts/lists only, and loads with ``weights_only=True``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hypercon.io.atomic import atomic_path
from hypercon.weights.registry import refusal_reason

LOG = logging.getLogger(__name__)
FORMAT = "hypercon-train-state/1"


def capture_rng(sampler: torch.Generator) -> dict[str, Any]:
    """The torch (CPU and, if initialised, CUDA), NumPy and Python RNG states and the sampler generator's."""
    version, mt_state, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
                  "pos": int(np_state["state"]["pos"]), "has_gauss": int(np_state["has_gauss"]),
                  "gauss": float(np_state["gauss"])},
        "python": {"version": version, "state": list(mt_state), "gauss": gauss},
        "sampler": sampler.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], sampler: torch.Generator) -> None:
    """Inverse of :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
                         "has_gauss": np_state["has_gauss"], "gauss": np_state["gauss"]})
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    sampler.set_state(state["sampler"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(path: Path, state: dict[str, Any]) -> Path:
    """Write a training state atomically (``{"format": FORMAT, ...}`` added)."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def load_state(path: Path) -> dict[str, Any]:
    """Read a state written by :func:`save_state`; errors name the file."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated / foreign files
        raise ValueError(f"training checkpoint {path} cannot be read ({type(exc).__name__}: {refusal_reason(exc)}); "
                         f"delete it to start over") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"training checkpoint {path} is not a {FORMAT} file")
    return state
