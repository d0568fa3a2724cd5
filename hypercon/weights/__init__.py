"""Pretrained weights: manifest ``hypercon/weights.json``, lookup, sha256 checks, safe loading, CLI.

    from hypercon.weights import load_pretrained, resolve_weights, load_checkpoint
    net, record = load_pretrained("fst_mosaic", build, weights=None, weights_dir=cfg.paths.weights_dir,
                                  owner="model=fst_pytorch")  # a network's constructor: the steps below, once
    resolved = resolve_weights("i3d_rgb_imagenet", path=None, weights_dir=cfg.paths.weights_dir)
    state = load_checkpoint(resolved)          # torch.load(weights_only=True); legacy pickles: restricted
    self._weights_record = resolved.record()   # {"file": ..., "sha256": ...} for provenance

Command line: ``python -m hypercon.weights status [-v] | download [NAMES] | record NAME [--trust-pickle]``.
"""

# each submodule lists its public names once, in its own ``__all__``
from hypercon.weights.manifest import *  # noqa: F403
from hypercon.weights.manifest import __all__ as _manifest_names
from hypercon.weights.pretrained import *  # noqa: F403
from hypercon.weights.pretrained import __all__ as _pretrained_names
from hypercon.weights.registry import *  # noqa: F403
from hypercon.weights.registry import __all__ as _registry_names

__all__ = [*_manifest_names, *_registry_names, *_pretrained_names]
