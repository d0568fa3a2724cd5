"""The viewer's source panel: the input video, from data only.

A results folder is data that people share and download: nothing read from it is instantiated, imported
or unpickled. The source panel therefore comes from

1. the run's saved inputs (``inputs/<video>/frames``, written with ``save_inputs``: PNG files), or
2. the CURRENT config of a dataset the user names on the command line (``--dataset NAME``, with
   ``--dataset-override KEY=VALUE`` for its options, e.g. ``root=/data/DAVIS``), composed from this
   checkout's ``conf/dataset/NAME.yaml``; it is used only for videos whose recorded dataset name is
   ``NAME``;

otherwise the page omits the panel and says why. The dataset config recorded in ``results.json`` is read
only for its name (shown in that message).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from experiments.store import RunStore
from experiments.viewer.discover import VideoGroup
from hypercon.errors import SettingError, find_expected_error, one_line
from hypercon.io.frames import list_frame_files


def read_rgb(folder: Path) -> list[np.ndarray]:
    """Frames of ``folder`` as uint8 ``[H,W,3]`` arrays, in natural order."""
    return [np.asarray(Image.open(path).convert("RGB")) for path in list_frame_files(folder)]


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """``--dataset NAME`` and ``--dataset-override KEY=VALUE`` (repeatable) on a command line."""
    parser.add_argument("--dataset", metavar="NAME",
                        help="read the source panel of runs without saved inputs from this dataset's current "
                             "config (conf/dataset/NAME.yaml); never from the config recorded in the results")
    parser.add_argument("--dataset-override", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of --dataset, e.g. root=/data/DAVIS (repeatable)")


def dataset_config(name: str | None, overrides: list[str]) -> Any:
    """The composed ``dataset`` node of ``conf/dataset/<name>.yaml`` with ``overrides`` (``KEY=VALUE`` of
    the dataset's options), or None without a name. Raises SettingError (one line) for an unknown name or
    a bad override."""
    if not name:
        return None
    from hypercon.config import compose_component

    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise SettingError(f"--dataset-override {bad[0]!r}: expected KEY=VALUE, e.g. root=/data/DAVIS")
    try:
        return compose_component("dataset", name, overrides=[f"dataset.{o}" for o in overrides])
    except Exception as exc:  # noqa: BLE001 - an unknown name or key: one line naming it
        raise SettingError(f"--dataset {name}: {one_line(find_expected_error(exc) or exc)}") from None


def _from_dataset(group: VideoGroup, dataset: Any) -> tuple[list[np.ndarray] | None, str]:
    """The frames of ``group.video`` read with the user's ``dataset`` config, or (None, why)."""
    from hypercon.checks import frames_to_uint8
    from hypercon.config import instantiate_component

    if str(dataset.get("name")) != group.dataset:
        return None, f"--dataset {dataset.get('name')} is not this run's dataset {group.dataset!r}"
    reasons = []
    for job, job_dir, _ in group.jobs:
        try:  # the run's masks folder holds PNG files: data, read by the dataset like any mask file
            source = instantiate_component(dataset, mask_dir=str(RunStore(job_dir).mask_dir()))
            return list(frames_to_uint8(source.load(group.video).frames)), ""
        except Exception as exc:  # noqa: BLE001 - any reason the data is not here: the panel is omitted
            cause = find_expected_error(exc) or exc
            reasons.append(f"{job}: {type(cause).__name__}: {one_line(cause)}")
    return None, reasons[0] if reasons else "no job"


def source_frames(group: VideoGroup, dataset: Any = None) -> tuple[list[np.ndarray] | None, str]:
    """The source video of ``group`` (see the module docstring); (None, why) when it is not available."""
    for _, job_dir, _ in group.jobs:
        inputs = RunStore(job_dir).inputs_dir(group.video)
        if inputs.is_dir():
            return read_rgb(inputs), ""
    if dataset is not None:
        frames, why = _from_dataset(group, dataset)
        if frames is not None:
            return frames, ""
    else:
        why = (f"pass --dataset {group.dataset} (and --dataset-override KEY=VALUE for its options, e.g. root=…) "
               "to read it from that dataset's current config")
    return None, (f"source omitted: no saved inputs (save_inputs=true saves them), and a run's recorded config "
                  f"is never executed ({why})")
