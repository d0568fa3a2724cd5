"""Bring your own image model (tier ``user``): any Python callable or ``nn.Module``, a ``torch.export`` program,
a TorchScript file or an ONNX file as ``g``, with its declared conventions (:mod:`hypercon.models.conventions`).

    python run.py model=callable model.target=my_pkg.edit:relight model.range=[-1,1] model.channels=BGR
    python run.py model=export model.path=net.pt2 model.multiple_of=8   # torch.export.save
    python run.py model=torchscript model.path=net.pt model.multiple_of=8   # deprecated by torch; still loads
    python run.py model=onnx model.path=net.onnx            # pip install -e ".[onnx]"

Stochastic models (``model.stochastic=true``): each frame is translated alone, with torch, NumPy's global
generator and Python's ``random`` seeded from ``(model.seed, frame time)`` (:func:`frame_seed`; the global
states are restored after), so a run repeats exactly. Frame k of a video has time k; HyperCon's
interpolated frame m has time m/(i+1), so HyperCon's original frames draw what the frame-wise run draws.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import warnings
import zipfile
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from hypercon.component import USER
from hypercon.errors import InputNotFound, SettingError
from hypercon.models.base import ImageModel
from hypercon.models.conventions import Convention, from_model, to_model


def frame_seed(seed: int, time: Any) -> int:
    """A 63-bit seed from ``seed`` and a frame's time (int, ``Fraction`` or float: k, m/(i+1)), by sha256 of
    ``"seed:numerator/denominator"``: equal times → equal seeds, whatever the batch or the call."""
    t = Fraction(time)
    digest = hashlib.sha256(f"{int(seed)}:{t.numerator}/{t.denominator}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch, NumPy's global generator and Python's ``random`` with ``seed``; restore all three after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


#: ``kwargs`` left out: none (read-only, the default ``{}`` of conf/model/callable.yaml)
NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


class UserModel(ImageModel):
    """A model the user brings: converts to its declared :class:`Convention`, calls :meth:`forward_model`,
    checks and converts back. Subclasses load the model and implement :meth:`forward_model`."""

    tier = USER

    def __init__(self, *, range: Any, channels: str, layout: str, dtype: str, multiple_of: int,
                 max_side: int | None, needs_mask: bool, stochastic: bool, seed: int, batch_size: int,
                 device: str) -> None:
        self.convention = Convention.of(range, channels, layout, dtype, multiple_of, max_side)
        self.needs_mask, self.stochastic, self.seed = bool(needs_mask), bool(stochastic), int(seed)
        self.batch_size, self.device = int(batch_size), str(device)

    @abstractmethod
    def forward_model(self, x: Any, known: Any) -> Any:
        """Call the model on converted input (``known`` only for ``needs_mask`` models)."""

    def options(self) -> dict[str, Any]:
        return {"conventions": self.convention.record(), "needs_mask": self.needs_mask,
                "stochastic": self.stochastic, "seed": self.seed}

    def _convert_call(self, frames: Tensor, known: Tensor | None) -> Tensor:
        x, k, geometry = to_model(frames.to(self.device), None if known is None else known.to(self.device),
                                  self.convention)
        out = self.forward_model(x, k) if self.needs_mask else self.forward_model(x, None)
        return from_model(out, self.convention, geometry, frames.shape[0], f"model {self.name!r}", source=x)

    def translate_frames(self, frames: Tensor, known: Tensor | None, times: list) -> Tensor:
        if not self.stochastic:
            return self._convert_call(frames, known)
        outs = []
        for j, t in enumerate(times):  # one frame at a time: what a frame draws depends only on its time
            with seeded(frame_seed(self.seed, t)):
                outs.append(self._convert_call(frames[j : j + 1], None if known is None else known[j : j + 1]))
        return torch.cat(outs)

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return self.translate_frames(frames, known, list(range(frames.shape[0])))


def resolve_target(target: str) -> Any:
    """``"package.module:function"`` (or ``module:Class``, ``module:obj.attr``) → the object."""
    module_name, sep, attr = str(target).partition(":")
    if not sep or not module_name or not attr:
        raise SettingError(f"model.target must be 'package.module:function' (or :Class), got {target!r}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise SettingError(f"model.target={target}: cannot import {module_name!r} ({exc}); "
                           "is the package installed, or its folder on PYTHONPATH?") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SettingError(f"model.target={target}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def describe_target(fn: Any) -> str:
    """``module:qualname`` of a callable (its class's for an instance), for provenance."""
    owner = fn if hasattr(fn, "__qualname__") else type(fn)
    return f"{getattr(owner, '__module__', '?')}:{getattr(owner, '__qualname__', type(fn).__name__)}"


class CallableModel(UserModel):
    """``target``: ``"package.module:function"`` / ``":Class"`` (built with ``kwargs``) or, from Python, the
    callable itself. A function gets ``kwargs`` at every call: ``fn(x, **kwargs)`` or, with ``needs_mask``,
    ``fn(x, known, **kwargs)``. An ``nn.Module`` is put in eval mode on ``device``."""

    name = "callable"

    def __init__(self, target: str | Callable, kwargs: Mapping[str, Any] = NO_KWARGS, **conventions: Any) -> None:
        super().__init__(**conventions)
        kwargs = dict(kwargs or {})
        obj = resolve_target(target) if isinstance(target, str) else target
        if isinstance(obj, type):
            obj, self.call_kwargs = obj(**kwargs), {}
        else:
            self.call_kwargs = kwargs
        if not callable(obj):
            raise SettingError(f"model.target={target!r} is not callable ({type(obj).__name__})")
        if isinstance(obj, torch.nn.Module):
            obj = obj.eval().to(self.device)
        self.fn, self.kwargs = obj, kwargs
        self.target = target if isinstance(target, str) else describe_target(target)

    def options(self) -> dict[str, Any]:
        return {"target": self.target, "kwargs": self.kwargs, **super().options()}

    def forward_model(self, x: Any, known: Any) -> Any:
        return self.fn(x, known, **self.call_kwargs) if self.needs_mask else self.fn(x, **self.call_kwargs)


def _model_file(path: str | None, kind: str, suffixes: tuple[str, ...]) -> Path:
    if not path:
        raise SettingError(f"model={kind} needs model.path=FILE{suffixes[0]}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise InputNotFound(f"model.path={path}: no such {kind} file")
    return file


class _FileModel(UserModel):
    """A model loaded from a file: the file and its sha256 go into the provenance (:meth:`weights`).
    ``target`` / ``kwargs`` (inherited from ``conf/model/callable.yaml``) must stay unset."""

    def __init__(self, target: str | None = None, kwargs: dict | None = None, **conventions: Any) -> None:
        if target or kwargs:
            raise SettingError(f"model={self.name} loads model.path: model.target / model.kwargs are not used")
        super().__init__(**conventions)

    def _record_file(self, file: Path) -> None:
        from hypercon.weights.manifest import sha256_of

        self.path = file
        self._weights_record = {"file": str(file.resolve()), "sha256": sha256_of(file)}


class TorchScriptModel(_FileModel):
    """A TorchScript file (``torch.jit.save``) loaded with ``torch.jit.load`` on ``device``."""

    name = "torchscript"

    def __init__(self, path: str, **options: Any) -> None:
        super().__init__(**options)
        file = _model_file(path, "torchscript", (".pt",))
        try:
            with warnings.catch_warnings():  # torch ≥ 2.9 marks TorchScript deprecated; it still loads
                warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit")
                self.module = torch.jit.load(str(file), map_location=self.device).eval()
        except RuntimeError as exc:
            raise SettingError(f"model.path={path}: not a TorchScript file ({str(exc).splitlines()[0]})") from exc
        self._record_file(file)

    def forward_model(self, x: Any, known: Any) -> Any:
        return self.module(x, known) if self.needs_mask else self.module(x)


class ExportedProgramModel(_FileModel):
    """A ``torch.export`` program (``torch.export.save`` → ``.pt2``) loaded with ``torch.export.load``; its
    ``module()`` runs on ``device``, called as ``module(frames)`` or, with ``needs_mask``, ``module(frames, known)``.
    Export it in eval mode and with dynamic batch, height and width (``torch.export.Dim``) unless every call has
    the exported shape (``model.batch_size``, ``model.multiple_of`` / frame size)."""

    name = "export"

    def __init__(self, path: str, **options: Any) -> None:
        super().__init__(**options)
        file = _model_file(path, "export", (".pt2",))
        try:
            program = torch.export.load(str(file))
        except (RuntimeError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise SettingError(f"model.path={path}: not a torch.export program saved by torch.export.save "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
        self.module = program.module().to(self.device)  # already in the mode it was exported in (no .eval())
        self._record_file(file)

    def forward_model(self, x: Any, known: Any) -> Any:
        return self.module(x, known) if self.needs_mask else self.module(x)


class ONNXModel(_FileModel):
    """An ONNX file run by onnxruntime (the optional extra ``[onnx]``). Inputs in graph order: the frames,
    then (``needs_mask``) the mask; the first output is the result. BCHW tensors cross as float32 arrays."""

    name = "onnx"

    def __init__(self, path: str, **options: Any) -> None:
        super().__init__(**options)
        file = _model_file(path, "onnx", (".onnx",))
        try:
            import onnxruntime
        except ImportError as exc:
            raise SettingError('model=onnx needs onnxruntime: pip install -e ".[onnx]"') from exc
        providers = (["CUDAExecutionProvider"] if self.device.startswith("cuda") else []) + ["CPUExecutionProvider"]
        try:
            self.session = onnxruntime.InferenceSession(str(file), providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise SettingError(f"model.path={path}: onnxruntime cannot load it ({type(exc).__name__})") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        if len(self.input_names) < (2 if self.needs_mask else 1):
            raise SettingError(f"model.path={path}: model.needs_mask=true but the graph has one input")
        self._record_file(file)

    def forward_model(self, x: Any, known: Any) -> Any:
        tensor = isinstance(x, Tensor)
        arrays = [a.detach().cpu().numpy() if isinstance(a, Tensor) else a for a in (x, known) if a is not None]
        out = self.session.run(None, dict(zip(self.input_names, arrays)))[0]
        return torch.from_numpy(out).to(self.device) if tensor else out
