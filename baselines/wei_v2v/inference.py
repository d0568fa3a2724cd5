"""Loading a trained Wei generator and running it on a video: what ``method=wei_v2v`` and
``model=wei_image2image`` share.

The shipped checkpoints are ``wei_<variant>_<task>_offline`` in ``hypercon/weights/trained/`` (registered in
``hypercon/weights.json``; shipped: ``image2image`` and ``local_global`` of ``colorize``, ``sr2x``, ``vseg``).
``checkpoint``: a trained-here ``X.pt`` (with its sidecar) instead. The generator's options are read from
the sidecar (``data.generator``), and the checkpoint must have been trained for the run's task.

Inference (:func:`translate_video`): frames in [0,1] → [−1,1] → G frame by frame (BatchNorm sees one frame,
as in training) → RGB ``(y + 1)/2``, or for ``vseg`` the probability image of the sigmoid output
(:func:`hypercon.tasks.probability_image`). The recurrent generator carries its hidden state from frame to
frame and starts from zeros at each video's first frame.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from baselines.wei_v2v.data import task_spec
from baselines.wei_v2v.generator import WeiGenerator, generator_from_state
from hypercon.tasks import probability_image


def shipped_name(variant: str, task: str) -> str:
    """The manifest name (and file stem) of the offline checkpoint of ``variant`` on ``task``."""
    return f"wei_{variant}_{task}_offline"


def train_command(variant: str, task: str) -> str:
    """How to train the checkpoint and use it (for the missing-checkpoint error)."""
    name = shipped_name(variant, task)
    return (f"python -m baselines.wei_v2v.train task={task} variant={variant} root=/path/to/davis2016-val` and "
            f"pass `checkpoint=outputs/train/{name}/{name}.pt")


def load_generator(variant: str, task: str, checkpoint: str | None, weights_dir: str | None,
                   who: str) -> tuple[WeiGenerator, dict]:
    """``(generator in eval mode, weights record)`` of ``checkpoint`` or the shipped ``variant``/``task`` one.

    Raises:
        MissingWeightsError: one line naming the file and the train command, when the shipped name is not
            registered (``video2video`` and ``local`` are not shipped) or its file is absent.
        SettingError: the checkpoint was trained for another task or variant.
    """
    from baselines.common.sidecar import load_trained
    from hypercon.errors import SettingError
    from hypercon.weights.manifest import MissingWeightsError, load_manifest

    task_spec(task)
    if checkpoint is None:
        name = shipped_name(variant, task)
        if name not in load_manifest():
            raise MissingWeightsError(f"{who}: no checkpoint {name}.pt (variant={variant}, task={task} is not "
                                      f"shipped): train it with `{train_command(variant, task)}`")
    trained = load_trained(checkpoint or shipped_name(variant, task), weights_dir)
    data = trained.sidecar.get("data") or {}
    options = data.get("generator")
    if not isinstance(options, dict):
        raise SettingError(f"{who}: {trained.path}'s sidecar records no generator options (data.generator): "
                           f"not a checkpoint of baselines.wei_v2v.train")
    if data.get("task") != task:
        raise SettingError(f"{who}: {trained.path} was trained for task {data.get('task')!r}, not {task!r}: "
                           f"pass a checkpoint of task={task}")
    recipe = (trained.sidecar.get("config") or {}).get("recipe") or {}
    if checkpoint is None and recipe.get("variant") != variant:
        raise SettingError(f"{who}: {trained.path} holds variant {recipe.get('variant')!r}, not {variant!r}")
    net = generator_from_state(trained.modules["G"], options, str(trained.path)).eval()
    return net, {**trained.record(), "variant": recipe.get("variant"), "task": task}


@torch.no_grad()
def translate_video(net: WeiGenerator, frames: Tensor, device: str = "cpu") -> Tensor:
    """``frames [T,3,H,W]`` in [0,1] → ``[T,3,H,W]`` in [0,1] (module doc), one frame at a time; the hidden
    state (recurrent generators) starts from zeros here."""
    outs, hidden = [], None
    for frame in frames:
        y, hidden = net(frame[None].to(device, torch.float32) * 2 - 1, hidden)
        outs.append(y.to(frames.device))
    out = torch.cat(outs)
    if net.options["head"] == "sigmoid":
        return probability_image(out)
    return ((out + 1) / 2).clamp(0, 1)


def label_source(checkpoint: str | None) -> str:
    """How a row label names the weights: ``trained here`` (shipped) or the checkpoint's stem."""
    return "trained here" if checkpoint is None else Path(checkpoint).stem
