"""Hydra glue for the app: the resolvers and typed schemas (registered by :mod:`hypercon.config`, which
composing needs at any floor), the import-shadowing guard and the pre-flight callback.

Imported by ``run.py`` and by tests that compose the config, before composition.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

import hypercon.config  # noqa: F401  (registers the resolvers and the typed config schemas)
from hypercon.provenance import REPO_ROOT



def check_own_packages() -> None:
    """Fail clearly if another installed ``datasets``/``metrics`` package shadows this project's."""
    import datasets
    import metrics

    for module in (datasets, metrics):
        where = Path(getattr(module, "__file__", "") or "").resolve()
        if REPO_ROOT not in where.parents:
            raise ImportError(
                f"'{module.__name__}' was imported from {where}, not from this project ({REPO_ROOT}). "
                "Another package of that name (e.g. HuggingFace 'datasets') shadows it: run from the "
                "repository root in the harness's own virtual environment (see README)."
            )


class Preflight(Callback):
    """Hydra callback (``hydra.callbacks.preflight`` in ``conf/config.yaml``): before Hydra creates the run
    or sweep folder, check the device and that the output and cache folders can be written
    (:func:`experiments.runner.preflight`). A failure prints one line and exits with status 2, leaving
    nothing on disk."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config, "hydra.sweep.dir")

    @staticmethod
    def _check(config: DictConfig, dir_key: str) -> None:
        from experiments.console import report_user_error
        from experiments.preflight import preflight
        from hypercon.errors import EXIT_USER_ERROR, find_expected_error

        try:
            preflight(config, Path(str(OmegaConf.select(config, dir_key))))
        except Exception as exc:
            user_error = find_expected_error(exc)
            if user_error is None:
                raise
            report_user_error(exc, user_error)
            sys.exit(EXIT_USER_ERROR)
