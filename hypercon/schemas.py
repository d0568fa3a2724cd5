"""Typed schemas for the config (Hydra ConfigStore): a mistyped override fails at composition with a
clear message naming the key (e.g. ``model.num_colors=abc`` → "Value 'abc' of type 'str' could not be
converted to Integer … full_key: model.num_colors"). Every option of the groups method, model, flow, interp
and dataset has one (a yaml that extends another, e.g. ``flow/dis_fast``, inherits its schema); an
unknown key is refused too. Registered on import (by :mod:`hypercon.config`), outside the selectable
groups (see :data:`SCHEMAS`).

The schemas give types only (fields without a value are ``MISSING`` to OmegaConf): every value lives in
its yaml under ``conf/``, so each default is written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class PathsSchema:
    output_root: str
    cache_dir: str
    weights_dir: Optional[str]
    data_root: Optional[str]


@dataclass
class TaskSchema:
    name: str
    masks: str  # none | rectangle | object | folder
    input: str  # frames | luma | sr2x: the method's input (hypercon.tasks)
    target: str  # frames | annotation: what the metrics compare with
    keep_luminance: bool  # colorize: composite the input's lightness back (Lab)
    align_on: str  # HyperCon's alignment flow on: translated (paper) | input (vseg)
    metrics: list[str]  # offline metric set (default)
    paper_metrics: list[str]  # the paper's columns (metrics=paper)


@dataclass
class MetricsSchema:
    names: list[str]
    optional: list[str]
    occlusion_rule: str  # lai | ruder
    options: dict[str, Any]
    flow: Any


# ------------------------------------------------------------------------------------------- method


@dataclass
class HyperConSchema:
    _target_: str
    name: str
    num_inserted: int  # i
    window: int  # c = 2γ+1
    dilation: int  # d
    pool: str
    chunk_size: int
    align_on: str  # translated | input
    device: str
    model: Any
    interp: Any
    flow: Any


@dataclass
class DVPSchema:
    _target_: str
    name: str
    epochs: int
    size: Optional[list[int]]  # [width, height]
    loss: str  # l1 | l2 | perceptual
    irt: bool
    seed: int
    lr: float
    device: str
    model: Any
    perceptual: Any


@dataclass
class VconsSchema:
    _target_: str
    name: str
    checkpoint: str  # trained | paper | a path
    feedback: str  # uint8 | jpeg95 | float
    weights_dir: Optional[str]
    device: str
    model: Any
    placeholder: Any  # inpainting: a value in [0, 1] (0.5 grey, 0 black) | noise
    seed: int


@dataclass
class WeiVideoToVideoSchema:
    _target_: str
    name: str
    variant: str  # image2image | video2video | local | local_global
    task: str  # colorize | sr2x | vseg
    checkpoint: Optional[str]
    dropout_at_test: bool
    weights_dir: Optional[str]
    device: str


@dataclass
class GatysCoherenceSchema:
    _target_: str
    name: str
    style_image: str  # a path | skimage:<name>
    coherence: str  # none | mse | enhanced | flow | flow_masked
    flow_warp: str  # remap | splat
    init: str  # content | prev_warped | noise
    steps: int
    max_iter: int
    content_weight: float
    style_weight: float
    coherence_weight: float
    occlusion_rule: str  # lai | ruder
    seed: int
    device: str
    flow: Any
    perceptual: Any


@dataclass
class VINetSchema:
    _target_: str
    name: str
    weights: Optional[str]
    weights_dir: Optional[str]
    crop_size: int  # 512 | 256
    warmup: int
    t_stride: int
    dilate: bool
    device: str


@dataclass
class FramewiseSchema:
    _target_: str
    name: str
    model: Any


# -------------------------------------------------------------------------------------------- model


@dataclass
class KMeansPaletteSchema:
    _target_: str
    name: str
    num_colors: int
    iterations: int
    smooth: str
    seed: int
    batch_size: int
    device: str


@dataclass
class StylizationSchema:
    _target_: str
    name: str
    sigma_s: float
    sigma_r: float
    batch_size: int
    device: str


@dataclass
class IdentitySchema:
    _target_: str
    name: str
    batch_size: int
    device: str


@dataclass
class FlickerSchema:
    _target_: str
    name: str
    strength: float
    seed: int
    batch_size: int
    device: str


@dataclass
class OpenCVInpaintSchema:
    _target_: str
    name: str
    method: str
    radius: float
    batch_size: int
    device: str


@dataclass
class EngstromStyleSchema:
    _target_: str
    name: str
    style: str
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class FastNeuralStyleSchema:
    _target_: str
    name: str
    style: str
    weights: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class ZhangColorizationSchema:
    _target_: str
    name: str
    variant: str  # eccv16 | siggraph17
    weights: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class CycleGANTemporalSchema:
    _target_: str
    name: str
    variant: str  # original | temporal
    checkpoint: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class WeiImage2ImageSchema:
    _target_: str
    name: str
    task: str  # colorize | sr2x | vseg
    checkpoint: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class CycleGANPretrainedSchema:
    _target_: str
    name: str
    style: str  # monet | vangogh | cezanne | ukiyoe
    weights: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class ContextualAttentionSchema:
    _target_: str
    name: str
    variant: str
    channel_order: str
    weights: Optional[str]
    weights_dir: Optional[str]
    batch_size: int
    device: str


@dataclass
class CallableModelSchema:  # model=callable; model=export | torchscript | onnx extend it (conf/model/callable.yaml)
    _target_: str
    name: str
    target: Optional[str]  # package.module:function | :Class (null for a file model)
    kwargs: dict[str, Any]
    range: Any  # [0,1] | [-1,1] | [0,255]
    channels: str  # RGB | BGR
    layout: str  # BCHW | BHWC
    dtype: str  # float32 | uint8
    multiple_of: int
    max_side: Optional[int]
    needs_mask: bool
    stochastic: bool
    seed: int
    batch_size: int
    device: str


@dataclass
class FileModelSchema(CallableModelSchema):  # model=export | torchscript | onnx
    path: str


# --------------------------------------------------------------------------------------------- flow


@dataclass
class DISFlowSchema:
    _target_: str
    preset: str
    device: str
    finest_scale: Optional[int]
    patch_size: Optional[int]
    patch_stride: Optional[int]
    gd_iterations: Optional[int]
    vr_iterations: Optional[int]
    vr_alpha: Optional[float]
    vr_delta: Optional[float]
    vr_gamma: Optional[float]
    use_mean_normalization: Optional[bool]
    use_spatial_propagation: Optional[bool]


@dataclass
class FarnebackFlowSchema:
    _target_: str
    pyr_scale: float
    levels: int
    winsize: int
    iterations: int
    poly_n: int
    poly_sigma: float
    flags: int
    device: str


@dataclass
class PWCNetFlowSchema:
    _target_: str
    weights: Optional[str]
    weights_dir: Optional[str]
    device: str


@dataclass
class RAFTFlowSchema:
    _target_: str
    size: str
    num_flow_updates: int
    release: str
    weights: Optional[str]
    weights_dir: Optional[str]
    device: str


# ------------------------------------------------------------------------------------------- interp


@dataclass
class FlowLinearSchema:
    _target_: str
    flow: Any
    occlusion: bool
    alpha: float
    beta: float
    batch_size: int
    device: str


@dataclass
class SuperSloMoSchema:
    _target_: str
    weights: Optional[str]
    weights_dir: Optional[str]
    device: str
    batch_size: int
    upstream_warp: bool
    outside: str


# ------------------------------------------------------------------------------------------ dataset


@dataclass
class _DatasetSchema:  # the options every dataset shares (datasets.base.VideoDataset)
    _target_: str
    name: str
    seed: int
    masks: str
    mask_dilation: int
    max_videos: Optional[int]
    max_frames: Optional[int]
    mask_dir: Optional[str]


@dataclass
class SyntheticDatasetSchema(_DatasetSchema):
    num_videos: int = MISSING
    num_frames: int = MISSING
    height: int = MISSING
    width: int = MISSING
    fps: float = MISSING
    cut_at: Optional[int] = MISSING


@dataclass
class DAVISDatasetSchema(_DatasetSchema):
    root: Optional[str] = MISSING
    year: int = MISSING
    split: str = MISSING
    resolution: str = MISSING
    size: Optional[list[int]] = MISSING
    sequences: Optional[list[str]] = MISSING


@dataclass
class FolderDatasetSchema(_DatasetSchema):
    root: Optional[str] = MISSING
    data_root: Optional[str] = MISSING
    frames_subdir: Optional[str] = MISSING
    masks_subdir: Optional[str] = MISSING
    masks_root: Optional[str] = MISSING
    mask_polarity: str = MISSING
    mask_threshold: int = MISSING
    size: Optional[list[int]] = MISSING
    fps: Optional[float] = MISSING


@dataclass
class ActivityNetDatasetSchema(_DatasetSchema):
    manifest: Optional[str] = MISSING
    root: Optional[str] = MISSING
    cache_dir: Optional[str] = MISSING
    split: Optional[str] = MISSING
    clip_frames: int = MISSING
    size: Optional[list[int]] = MISSING


@dataclass
class RunSchema:
    paths: PathsSchema = MISSING
    task: TaskSchema = MISSING
    metrics: MetricsSchema = MISSING
    method: Any = None
    dataset: Any = None
    model: Any = None
    flow: Any = None
    interp: Any = None
    seed: int = MISSING
    device: str = MISSING
    style: str = MISSING
    overwrite: bool = MISSING
    save_frames: bool = MISSING
    save_video: bool = MISSING
    save_inputs: Optional[bool] = MISSING  # null: only for generated data
    save_error_maps: bool = MISSING  # per-pixel E_warp maps per video (outputs saved, not results)
    method_settings: dict[str, Any] = MISSING  # {method name: {option: value}} merged into method
    progress: Optional[bool] = MISSING
    sweep_name: str = MISSING
    log_level: str = MISSING


#: ConfigStore name → schema. The names sit at the top level of the ConfigStore, outside every config
#: group, so they are never offered as options (``--help``, ``method=…``); each ``conf/<group>/<name>.yaml``
#: puts its schema first in its defaults list: ``- /<group>_<name>_schema@_here_``.
SCHEMAS: dict[str, type] = {
    "paths_default_schema": PathsSchema,
    "task_schema": TaskSchema,
    "metrics_schema": MetricsSchema,
    "method_hypercon_schema": HyperConSchema,
    "method_framewise_schema": FramewiseSchema,
    "method_dvp_schema": DVPSchema,
    "method_vcons_schema": VconsSchema,
    "method_vinet_schema": VINetSchema,
    "method_gatys_coherence_schema": GatysCoherenceSchema,
    "method_wei_v2v_schema": WeiVideoToVideoSchema,
    "model_kmeans_palette_schema": KMeansPaletteSchema,
    "model_stylize_schema": StylizationSchema,
    "model_identity_schema": IdentitySchema,
    "model_bicubic_schema": IdentitySchema,  # same options: name, batch_size, device
    "model_flicker_schema": FlickerSchema,
    "model_opencv_inpaint_schema": OpenCVInpaintSchema,
    "model_fst_engstrom_schema": EngstromStyleSchema,
    "model_fst_pytorch_schema": FastNeuralStyleSchema,
    "model_cxtattn_schema": ContextualAttentionSchema,
    "model_cyclegan_temporal_schema": CycleGANTemporalSchema,
    "model_cyclegan_pretrained_schema": CycleGANPretrainedSchema,
    "model_zhang_colorization_schema": ZhangColorizationSchema,
    "model_wei_image2image_schema": WeiImage2ImageSchema,
    "model_callable_schema": CallableModelSchema,
    "model_torchscript_schema": FileModelSchema,
    "model_export_schema": FileModelSchema,
    "model_onnx_schema": FileModelSchema,
    "flow_dis_schema": DISFlowSchema,
    "flow_farneback_schema": FarnebackFlowSchema,
    "flow_pwcnet_schema": PWCNetFlowSchema,
    "flow_raft_schema": RAFTFlowSchema,
    "interp_flow_linear_schema": FlowLinearSchema,
    "interp_superslomo_schema": SuperSloMoSchema,
    "dataset_synthetic_schema": SyntheticDatasetSchema,
    "dataset_davis_schema": DAVISDatasetSchema,
    "dataset_folder_schema": FolderDatasetSchema,
    "dataset_activitynet_schema": ActivityNetDatasetSchema,
}

cs = ConfigStore.instance()
cs.store(name="run_schema", node=RunSchema)
for _name, _schema in SCHEMAS.items():
    cs.store(name=_name, node=_schema)
