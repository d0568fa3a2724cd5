"""Hydra entry point of every baseline's training: ``python -m baselines.<name>.train key=value ...``.

Each ``baselines/<name>/train.py`` is::

    from baselines.common.cli import run_training

    if __name__ == "__main__":
        run_training("<name>")          # composes conf/train/<name>.yaml (which extends conf/train/base.yaml)

The configs live in the repository's ``conf/`` (primary config ``train/<name>``, ``# @package _global_``), so
the ``perceptual`` and ``split`` groups compose there too: ``perceptual=vgg_random split=davis2016_dev``.
Rerunning the same command resumes from ``<out_dir>/last.pt``; the exit status is 0 when the run finished or
its ``max_minutes`` window ended, 128 + signal number when SIGINT/SIGTERM stopped it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from baselines.common.split import Split
from baselines.common.trainer import Trainer, TrainResult, TrainSettings
from hypercon.config import CONF_DIR

LOG = logging.getLogger(__name__)


def train_from_config(cfg: Any) -> TrainResult:
    """Instantiate ``cfg.recipe`` and run the trainer with the resolved ``cfg`` (a DictConfig or a dict)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.create(cfg), resolve=True)
    config.pop("hydra", None)
    recipe = instantiate(config["recipe"], _convert_="all")
    split = Split.from_mapping(config["split"]) if config.get("split") else None
    return Trainer(recipe, TrainSettings.from_config(config), config, split).fit()


def compose_train_config(name: str, overrides: list[str] | None = None) -> Any:
    """The composed ``conf/train/<name>.yaml`` (for tests and notebooks; the CLI uses ``hydra.main``)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=f"train/{name}", overrides=list(overrides or []))


def run_training(name: str) -> None:
    """``hydra.main`` over ``conf/train/<name>.yaml``; exits with :attr:`TrainResult.exit_code`."""
    import hydra

    result: list[TrainResult] = []

    @hydra.main(config_path=str(CONF_DIR), config_name=f"train/{name}", version_base="1.3")
    def _main(cfg: Any) -> None:
        result.append(train_from_config(cfg))

    _main()
    if result and result[0].exit_code:
        sys.exit(result[0].exit_code)
