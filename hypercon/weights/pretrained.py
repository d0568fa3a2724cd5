"""The steps every pretrained network's constructor takes, written once: resolve the registry entry (explicit
file, else the weights folders; sha256 checked), load the file safely, build the network with its one loader
(strict keys), and return it with the weights record that provenance reports.

    net, record = load_pretrained("fst_mosaic", build_fst, weights=None, weights_dir=cfg.paths.weights_dir,
                                  owner="model=fst_pytorch")
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, TypeVar

from hypercon.weights.manifest import WeightsError
from hypercon.weights.registry import load_checkpoint, resolve_weights

__all__ = ["WeightsFormatError", "load_pretrained"]

LOG = logging.getLogger(__name__)

Built = TypeVar("Built")


class WeightsFormatError(WeightsError, ValueError):
    """A verified, safely read file that is not the network's checkpoint (keys, shapes, type); names the file."""


def load_pretrained(entry: str, build: Callable[[Any, str], Built], *, weights: str | Path | None = None,
                    weights_dir: str | Path | None = None, owner: str) -> tuple[Built, dict[str, Any]]:
    """``(build(checkpoint, source), weights record)`` for the registry entry ``entry``.

    Args:
        entry: manifest name (``"fst_mosaic"``). build: the network's one loader, called with the loaded
            checkpoint object and the file's path as ``source``; it raises ValueError, RuntimeError, TypeError or
            KeyError for a file that is not its checkpoint. weights / weights_dir: explicit file / weights folder
            (:func:`hypercon.weights.resolve_weights`). owner: who loads it, for messages (``"model=fst_pytorch"``).

    Raises:
        MissingWeightsError / WeightsHashError: the file is absent / has another sha256.
        WeightsFormatError: ``build`` refused the file; one line starting with ``owner`` and naming the file.
    """
    resolved = resolve_weights(entry, path=weights, weights_dir=weights_dir)
    checkpoint = load_checkpoint(resolved)
    source = str(resolved.path)
    try:
        built = build(checkpoint, source)
    except (ValueError, RuntimeError, TypeError, KeyError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__  # one line
        named = detail if source in detail else f"{source}: {detail}"
        raise WeightsFormatError(f"{owner}: {named}") from exc
    LOG.info("%s: %s from %s (sha256 %s…)", owner, entry, source, resolved.sha256[:12])
    return built, resolved.record()
