"""Python API: HyperCon on any image model and any video, through the benchmark's own code paths.

:func:`apply_hypercon` composes ``conf/method/hypercon.yaml`` (with ``conf/interp``, ``conf/flow``) exactly
as ``python run.py`` does and runs :class:`hypercon.pipeline.HyperCon`; an option left ``None`` keeps its
value in the yaml, which is the one place defaults live. :func:`evaluate` runs the benchmark's metrics
(:func:`metrics.evaluate.evaluate_video`) on one video.

>>> import numpy as np
>>> from hypercon import apply_hypercon, evaluate
>>> video = np.random.default_rng(0).integers(0, 256, (4, 64, 80, 3), dtype=np.uint8)
>>> out = apply_hypercon(video, lambda x: 1 - x, num_inserted=1, window=3)  # g: [B,3,H,W] in [0,1] RGB
>>> out.shape, out.dtype
((4, 64, 80, 3), dtype('uint8'))
>>> sorted(evaluate(out, video))
['cpsnr', 'cssim', 'ewarp']
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_frames, frames_from_uint8, frames_to_uint8, hide_holes
from hypercon.errors import InputError, SettingError
from hypercon.method import VideoMethod
from hypercon.models.base import ImageModel

#: model files by extension → the config that loads them (conf/model/<name>.yaml)
MODEL_FILES = {".pt2": "export", ".pt": "torchscript", ".pth": "torchscript", ".ts": "torchscript", ".onnx": "onnx"}


def _root_values(device: str | None, seed: int | None) -> dict[str, Any]:
    return {k: v for k, v in (("device", device), ("seed", seed)) if v is not None}


def resolve_model(g: ImageModel | Callable | str, conventions: Mapping[str, Any] | None = None,
                  device: str | None = None, seed: int | None = None) -> ImageModel:
    """The image model ``g`` as an :class:`ImageModel`.

    ``g``: an ``ImageModel`` (used as is); a Python callable (wrapped by ``model=callable``); or a spec string:
    a config name (``kmeans_palette``, ``fst_engstrom:udnie`` = with that style), ``package.module:function``,
    or a ``.pt2`` (``torch.export``) / ``.pt`` (TorchScript) / ``.onnx`` file. ``conventions`` (``{"range": [-1, 1], "channels": "BGR", …}``, the keys of
    ``conf/model/callable.yaml``) apply to callables and files; keys left out keep the yaml's values."""
    from hypercon.config import available, compose_component

    if isinstance(g, ImageModel):
        if conventions:
            raise SettingError("conventions apply to a callable or a model file, not to an ImageModel")
        return g
    values = _root_values(device, seed)
    given = {f"model.{k}": v for k, v in (conventions or {}).items()}
    if callable(g):
        # the yaml's values for every key; the target is the object itself (the placeholder is dropped below)
        node = compose_component("model", "callable", values={**values, **given, "model.target": "user:callable"})
        from omegaconf import OmegaConf

        options = OmegaConf.to_container(node, resolve=True)
        from hypercon.models.user import CallableModel

        return CallableModel(g, **{k: v for k, v in options.items() if k not in ("_target_", "name", "target")})
    if not isinstance(g, str):
        raise SettingError(f"model: expected an ImageModel, a callable or a spec string, got {type(g).__name__}")
    suffix = "." + g.rsplit(".", 1)[-1].lower() if "." in g else ""
    if suffix in MODEL_FILES:
        name, given = MODEL_FILES[suffix], {**given, "model.path": g}
    elif g.partition(":")[0] in available("model"):
        name, _, style = g.partition(":")
        if conventions:
            raise SettingError(f"model {g!r} is a config (conf/model/{name}.yaml): conventions apply to "
                               "callables and model files")
        values = {**values, **({"style": style} if style else {})}
    elif ":" in g:
        name, given = "callable", {**given, "model.target": g}
    else:
        raise SettingError(f"model {g!r}: not a config name ({', '.join(available('model'))}), "
                           "a 'package.module:function' or a .pt2 / .pt / .onnx file")
    model = _instantiate(compose_component("model", name, values={**values, **given}))
    model.name = name
    return model


def _instantiate(node: Any, **objects: Any) -> Any:
    """:func:`hypercon.config.instantiate_component`, raising a bad setting's :class:`UserError` itself
    (not Hydra's wrapper around it), so that Python callers see the one-line message."""
    from hypercon.config import instantiate_component
    from hypercon.errors import find_user_error

    try:
        return instantiate_component(node, **objects)
    except Exception as exc:
        user_error = find_user_error(exc)
        if user_error is None:
            raise
        raise user_error from exc


def build_method(method: str, model: ImageModel | None = None, options: Mapping[str, Any] | None = None,
                 interp: Any = None, flow: Any = None, device: str | None = None,
                 seed: int | None = None) -> VideoMethod:
    """``conf/method/<method>.yaml`` composed as ``python run.py method=<method>`` does, with ``options``
    (``{"window": 7}``; None values keep the yaml's) and the given ``model``; ``interp`` / ``flow``: a config
    name (``conf/interp``, ``conf/flow``), an object, or None (the root config's default)."""
    from hypercon.config import compose_config

    overrides = [f"method={method}"]
    objects: dict[str, Any] = {}
    for group, value in (("interp", interp), ("flow", flow)):
        if isinstance(value, str):
            overrides.append(f"{group}={value}")
        elif value is not None:
            objects[group] = value
    values = {**_root_values(device, seed),
              **{f"method.{k}": v for k, v in (options or {}).items() if v is not None}}
    cfg = compose_config(overrides, values)
    if model is not None and "model" in cfg.method:
        objects["model"] = model
    unknown = set(objects) - set(cfg.method)
    if unknown:
        raise SettingError(f"method={method} takes no {', '.join(sorted(unknown))}")
    built = _instantiate(cfg.method, **objects)
    built.name = str(cfg.method.name)
    return built


def as_frames(video: Tensor | np.ndarray, what: str = "frames") -> Tensor:
    """``[T,3,H,W]`` float [0,1] tensor, or a ``T×H×W×3`` uint8 NumPy array → ``[T,3,H,W]`` float32."""
    if isinstance(video, Tensor):
        return check_frames(video, what)
    array = np.asarray(video)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise InputError(f"{what}: expected a [T,3,H,W] float tensor or a T×H×W×3 uint8 array, got "
                         f"{array.dtype} {array.shape}")
    return frames_from_uint8(array)


def as_known(known: Tensor | np.ndarray | None) -> Tensor | None:
    """Masks as ``[T,1,H,W]`` float (1 = known): a tensor as is, a ``T×H×W`` array by ``value > 0``."""
    if known is None or isinstance(known, Tensor):
        return known
    array = np.asarray(known)
    return torch.from_numpy(array.reshape(array.shape[:3]) > 0).float()[:, None]


def apply_hypercon(frames: Tensor | np.ndarray, g: ImageModel | Callable | str, num_inserted: int | None = None,
                   window: int | None = None, dilation: int | None = None, pool: str | None = None,
                   known: Tensor | np.ndarray | None = None, interp: Any = None, flow: Any = None,
                   chunk_size: int | None = None, conventions: Mapping[str, Any] | None = None,
                   device: str | None = None, seed: int | None = None) -> Tensor | np.ndarray:
    """HyperCon with image model ``g`` on one video; returns the same kind as ``frames``.

    Args:
        frames: ``[T,3,H,W]`` float tensor in [0,1] RGB, or a ``T×H×W×3`` uint8 NumPy array.
        g: see :func:`resolve_model` (a callable takes and returns ``[B,3,H,W]`` in [0,1] RGB unless its
            ``conventions`` say otherwise).
        num_inserted, window, dilation, pool, chunk_size: HyperCon's options (i, c, d, pool); None = the
            value in ``conf/method/hypercon.yaml``.
        known: inpainting masks (1 = known): ``[T,1,H,W]`` tensor or ``T×H×W`` array (nonzero = known);
            holes are hidden before the method, known pixels composited back, as in ``run.py``.
        interp, flow: a ``conf/interp`` / ``conf/flow`` name or an object; None = ``conf/config.yaml``'s.
        conventions: declared conventions of a callable or model file (``conf/model/callable.yaml``'s keys).
        device, seed: the root config's ``device`` / ``seed`` (None = its values).
    """
    x, masks = as_frames(frames), as_known(known)
    model = resolve_model(g, conventions, device, seed)
    method = build_method("hypercon", model, {"num_inserted": num_inserted, "window": window,
                                              "dilation": dilation, "pool": pool, "chunk_size": chunk_size},
                          interp, flow, device, seed)
    out = method.run(x if masks is None else hide_holes(x, masks), masks)
    return out if isinstance(frames, Tensor) else frames_to_uint8(out)


def default_metrics() -> list[str]:
    """The style task's metrics (``conf/task/style.yaml``) that need no frame-wise reference."""
    from hypercon.config import compose_config
    from metrics.base import compares_with_reference, declared_key_specs
    from metrics.registry import metric_class

    names = compose_config(["task=style"]).task.metrics
    return [n for n in names if not compares_with_reference(declared_key_specs(metric_class(n)).values(), False, None)]


def evaluate(output: Tensor | np.ndarray, source: Tensor | np.ndarray, metrics: list[str] | None = None,
             known: Tensor | np.ndarray | None = None, reference: Tensor | np.ndarray | None = None,
             flow: str | None = None, device: str = "cpu") -> dict[str, float]:
    """The benchmark's numbers for one video: ``{"ewarp": …, "cpsnr": …, "cssim": …}``.

    ``output`` and ``source`` (the input video; it defines the motion) as in :func:`apply_hypercon`;
    ``metrics``: registry names (None = :func:`default_metrics`); ``reference``: the frame-wise output, for
    the fidelity metrics; ``flow``: the source motion's estimator (None = ``conf/metrics/default.yaml``'s)."""
    import tempfile
    from pathlib import Path

    from hypercon.config import compose_config
    from metrics.base import EvalVideo
    from metrics.cli import make_flow
    from metrics.evaluate import build_metrics, evaluate_video
    from metrics.source_motion import SourceMotionCache

    out, src = as_frames(output, "output"), as_frames(source, "source")
    ref = None if reference is None else as_frames(reference, "reference")
    rule = str(compose_config().metrics.occlusion_rule)
    built, _ = build_metrics(metrics or default_metrics(), common={"device": device, "occlusion_rule": rule})
    motion_flow = make_flow(flow, device)
    with tempfile.TemporaryDirectory(prefix="source_motion_") as tmp:
        cache = SourceMotionCache(Path(tmp), temporary=True)
        video = EvalVideo(name="video", output=out, source=src, known=as_known(known), gt=None, reference=ref,
                          source_motion=lambda: cache.get("video", src, motion_flow, rule=rule))
        return evaluate_video(video, built)["metrics"]
