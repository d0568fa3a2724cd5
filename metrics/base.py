"""What a video metric sees, how a metric describes its result keys, and the interface every metric
wrapper implements.

The functional cores live in one module per metric (``metrics/warping_error.py`` …) and take plain
tensors. The wrappers here are what the runner (``python run.py``) and the CLI (``python -m metrics``)
call, so both give the same numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Mapping

import numpy as np
from torch import Tensor

from hypercon.component import weights_tier
from metrics.registry import metric_class

if TYPE_CHECKING:
    from metrics.source_motion import SourceMotion


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here (missing weights, missing ground truth, …).

    Results record it as ``{"status": "unavailable", "reason": str(exc)}``, never as a number.
    """


@dataclass
class EvalVideo:
    """One video to evaluate. All frames ``[T,3,H,W]`` float32 RGB in [0,1] at the same size.

    Attributes:
        name: video name (unique within the dataset).
        output: the method's output (composited for inpainting).
        source: the video whose motion defines temporal consistency: the input video for style transfer and
            segmentation, the ground-truth video for inpainting, colourisation and ×2 SR. Source flows are
            computed on it.
        known: ``[T,1,H,W]`` 1 = known, 0 = hole, or None.
        gt: the target: ground-truth frames (inpainting with synthetic holes, colourisation, ×2 SR), the binary
            foreground ``[T,1,H,W]`` (segmentation, :mod:`hypercon.tasks`), or None.
        reference: the frame-wise output of the same image model (fidelity, FID reference), or None.
        is_reference: the output IS the frame-wise reference (a frame-wise run): metrics that compare with
            the reference are trivial and are recorded as "self_reference" instead of computed.
        source_motion: callable returning the :class:`metrics.source_motion.SourceMotion` of ``source``
            (forward flow t → t+1 on t's grid ``[T-1,2,H,W]`` + its occlusion mask ``[T-1,1,H,W]``);
            computed once and cached by the caller (:class:`metrics.source_motion.SourceMotionCache`).
        keep_maps: metrics with a per-pixel map (E_warp: :func:`metrics.warping_error.squared_error_maps`)
            leave it in ``maps[key]`` (the runner's ``save_error_maps=true``).
        per_frame: ``{key: [value per frame or pair]}`` that metrics recorded while computing (E_warp: T−1
            per-pair values, which its per-video value reduces); copied into the per-video record.
        maps: ``{key: {name: Tensor}}`` left by metrics when ``keep_maps`` is set.
    """

    name: str
    output: Tensor
    source: Tensor
    known: Tensor | None = None
    gt: Tensor | None = None
    reference: Tensor | None = None
    source_motion: Callable[[], "SourceMotion"] | None = None
    is_reference: bool = False
    keep_maps: bool = False
    per_frame: dict[str, list[float]] = field(default_factory=dict, repr=False, compare=False)
    maps: dict[str, dict[str, Tensor]] = field(default_factory=dict, repr=False, compare=False)
    _evaluated: Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def evaluated_reference(self, metric: str) -> Tensor:
        """The frame-wise ``reference`` evaluated like the output: composited with the known pixels when a mask
        is given (like with like), else as is. Raises :class:`MetricUnavailable` naming ``metric`` without one."""
        if self.reference is None:
            raise MetricUnavailable(f"{metric}: {self.name} has no frame-wise reference output")
        if self.known is None:
            return self.reference
        from hypercon.checks import composite

        return composite(self.reference, self.gt if self.gt is not None else self.source, self.known)

    def evaluated_output(self) -> Tensor:
        """The frames every metric evaluates: ``output`` composited with the known pixels when a mask is
        given (``known·G + (1−known)·output`` with G = ``gt``, else ``source``; a no-op for an already
        composited output, as VIE composites every prediction), else ``output``. Computed once."""
        if self._evaluated is None:
            if self.known is None:
                self._evaluated = self.output
            else:
                from hypercon.checks import check_known, composite

                check_known(self.known, self.output)
                truth = self.gt if self.gt is not None else self.source
                self._evaluated = composite(self.output, truth, self.known)
        return self._evaluated


#: what a result key compares the (evaluated) output with (``MetricKey.compare_with``)
KEY_COMPARE_WITH = ("nothing", "source", "reference", "gt", "auto")
#: the values of a metric's ``compare_with`` option: ``auto`` = the ground truth when the video has one, else
#: the frame-wise reference (the output of the same image model applied frame by frame)
TARGETS = ("auto", "gt", "reference")


@dataclass(frozen=True)
class MetricKey:
    """How one result key of a metric is reported: everything tables, aggregation and the runner need.

    Attributes:
        label: column label (``"E_warp"``, ``"PSNR vs frame-wise"``).
        fmt: number format (``".6f"``).
        higher_is_better: the direction (↑ / ↓ in tables, best-cell marking, grid-search ranking).
        ideal: the value a perfect method scores when deviating either way is worse (the saturation ratio: 1).
            When set it replaces the direction: the best cell is the one closest to it and the header says
            ``→1``; ``higher_is_better`` then only names the usual failure side (below the ideal).
        compare_with: ``"nothing"`` (the output alone), ``"source"`` (the source video's motion), ``"reference"``
            (the frame-wise output of the same image model), ``"gt"`` (the ground truth) or ``"auto"`` (gt when
            present, else reference). A metric's ``compare_with`` option resolves ``auto`` in its records.
        clip_inf: +inf per-video values (identical frames / patches) are clipped to the largest finite one
            before averaging across videos, as Szeto's evaluation code does for PSNR-type keys.
        set_metric: one value over the whole set (FID, VFID) instead of one per video; filled in from the
            metric's base class (:class:`SetMetric`), never declared by hand.
        metric: the registry name of the metric that produces the key (filled in from the metric).
    """

    label: str
    fmt: str
    higher_is_better: bool
    compare_with: str = "nothing"
    clip_inf: bool = False
    set_metric: bool = False
    metric: str = ""
    ideal: float | None = None

    def __post_init__(self) -> None:
        if self.compare_with not in KEY_COMPARE_WITH:
            raise ValueError(f"MetricKey {self.label!r}: compare_with must be one of {KEY_COMPARE_WITH}, "
                             f"got {self.compare_with!r}")

    def direction(self) -> str:
        """``"↑"``, ``"↓"`` or ``"→1"`` (towards ``ideal``), as column headers show it."""
        if self.ideal is not None:
            return f"→{self.ideal:g}"
        return "↑" if self.higher_is_better else "↓"

    def badness(self, value: float) -> float:
        """How far ``value`` is from the best (lower = better): ``|value − ideal|`` when an ideal is
        declared, else ``−value`` for higher-is-better keys and ``value`` otherwise."""
        if self.ideal is not None:
            return abs(value - self.ideal)
        return -value if self.higher_is_better else value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MetricKey":
        """A key as recorded in results (:meth:`to_dict`); records written before the field was named
        ``compare_with`` (like the metric option it mirrors) say ``compares_with``."""
        data = {"compare_with": data.get("compares_with", "nothing"), **data}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _Metric(ABC):
    """What every metric declares: its registry ``name``, ``tier`` and result ``keys``.

    ``keys`` maps each result key the class can produce to its :class:`MetricKey`. A metric whose keys
    depend on options overrides :meth:`result_keys`. A metric that compares with target frames chosen by an
    option sets ``compare_with`` (one of :data:`TARGETS`) in ``__init__``; its keys declare
    ``compare_with="auto"`` and :meth:`key_specs` replaces that by the option.
    """

    name: str = "metric"
    tier: str = "offline"
    keys: ClassVar[dict[str, MetricKey]] = {}
    compare_with: str | None = None

    @classmethod
    def declared_specs(cls) -> dict[str, MetricKey]:
        """The class's declared ``keys`` with ``metric`` (its name) and ``set_metric`` filled in."""
        return {k: replace(s, metric=cls.name, set_metric=issubclass(cls, SetMetric)) for k, s in cls.keys.items()}

    def result_keys(self) -> list[str]:
        """The keys this instance produces (default: every declared key)."""
        return list(self.keys)

    def key_specs(self) -> dict[str, MetricKey]:
        """``{key: MetricKey}`` of this instance, with ``metric``, ``set_metric`` and the option-chosen
        comparison filled in."""
        declared = type(self).declared_specs()
        out = {}
        for key in self.result_keys():
            spec = declared[key]
            out[key] = replace(spec, compare_with=self.compare_with) if spec.compare_with == "auto" and \
                self.compare_with else spec
        return out

    def needs_reference(self, has_gt: bool) -> bool:
        """Whether this instance compares with the frame-wise reference on a video with / without ground
        truth."""
        return compares_with_reference(self.key_specs().values(), has_gt)

    def check_compare_with(self, compare_with: str) -> str:
        """Validate a ``compare_with`` option (one of :data:`TARGETS`); raises ValueError naming the metric."""
        if compare_with not in TARGETS:
            raise ValueError(f"{self.name}: compare_with must be one of {TARGETS}, got {compare_with!r}")
        return compare_with

    def target_frames(self, video: EvalVideo) -> Tensor:
        """The frames this metric compares ``video``'s output with, per its ``compare_with`` option: ``gt``,
        ``reference`` (frame-wise output of the same image model) or ``auto`` (gt when present, else reference).

        Raises:
            MetricUnavailable: the requested frames are missing or mis-shaped.
        """
        resolved = resolve_target(self.compare_with or "auto", has_gt=video.gt is not None)
        frames = video.gt if resolved == "gt" else video.reference
        if frames is None:
            raise MetricUnavailable(f"{self.name}: video {video.name!r} has no {resolved} frames to compare with")
        if frames.shape != video.output.shape:
            raise MetricUnavailable(f"{self.name}: {resolved} frames {tuple(frames.shape)} and output "
                                    f"{tuple(video.output.shape)} of video {video.name!r} differ in shape")
        return frames

    def options(self) -> dict[str, Any]:
        return {}

    def weights(self) -> dict[str, Any] | None:
        """The weights record of a metric network (``{"file", "sha256"}``, maybe nested), or None."""
        return getattr(self, "_weights_record", None)

    def provenance(self) -> dict[str, Any]:
        cls = type(self)
        weights = self.weights()
        return {"name": self.name, "class": f"{cls.__module__}.{cls.__qualname__}", "options": self.options(),
                "tier": weights_tier(weights, self.tier), "keys": {k: s.to_dict() for k, s in self.key_specs().items()},
                **({"weights": weights} if weights is not None else {})}


class VideoMetric(_Metric):
    """A per-video metric. ``compute`` returns ``{key: float}`` for its :meth:`result_keys`.

    Raise :class:`MetricUnavailable` when the inputs needed are missing.
    """

    @abstractmethod
    def compute(self, video: EvalVideo) -> dict[str, float]:
        """Evaluate one video."""


class SetMetric(_Metric):
    """A metric pooled over a whole set of videos (FID, VFID).

    The runner calls :meth:`features` once per video and stores the arrays beside that video's
    results (so resumed runs need not recompute them), then :meth:`compute` once on all of them.
    """

    tier = "paper"

    @abstractmethod
    def features(self, video: EvalVideo) -> dict[str, "np.ndarray"]:
        """Per-video feature arrays, e.g. ``{"pred": [N,D], "ref": [N,D]}`` (float64/32)."""

    @abstractmethod
    def compute(self, features: list[dict[str, "np.ndarray"]]) -> dict[str, float]:
        """Pool the per-video features of every video into the metric value(s)."""


def compares_with_reference(specs: Iterable[MetricKey], has_gt: bool, compare_with: str | None = None) -> bool:
    """Whether keys reported as ``specs`` compare with the frame-wise reference on a video with / without
    ground truth; ``compare_with`` is the metric's option when the specs still say ``auto``."""
    return any(resolve_target(compare_with if s.compare_with == "auto" and compare_with else s.compare_with,
                              has_gt) == "reference" for s in specs)


def resolve_target(compare_with: str, has_gt: bool) -> str:
    """``auto`` → ``gt`` when the video has ground truth, else ``reference``; other values unchanged."""
    return ("gt" if has_gt else "reference") if compare_with == "auto" else compare_with


def key_specs(metrics: Mapping[str, Any]) -> dict[str, MetricKey]:
    """``{key: MetricKey}`` of every built metric, in metric order."""
    out: dict[str, MetricKey] = {}
    for metric in metrics.values():
        out.update(metric.key_specs())
    return out


def specs_from_provenance(metric_provenance: Mapping[str, Any]) -> dict[str, MetricKey]:
    """``{key: MetricKey}`` from recorded metric provenance (``{name: provenance}``); results written before
    keys were recorded fall back to the registry class's declaration."""
    out: dict[str, MetricKey] = {}
    for name, prov in (metric_provenance or {}).items():
        recorded = (prov or {}).get("keys")
        if recorded:
            out.update({k: MetricKey.from_dict(v) for k, v in recorded.items()})
            continue
        try:
            cls = metric_class(str((prov or {}).get("name") or name))
        except ValueError:
            continue
        out.update(cls.declared_specs())
    return out


def declared_key_specs(cls: type[_Metric]) -> dict[str, MetricKey]:
    """A metric class's declared keys with ``metric`` and ``set_metric`` filled in (:meth:`_Metric.declared_specs`)."""
    return cls.declared_specs()
