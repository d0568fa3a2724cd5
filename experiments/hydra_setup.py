"""Hydra glue: OmegaConf resolvers, typed config schemas (ConfigStore), import-shadowing guard.

Imported by ``run.py`` and by tests that compose the config, before composition.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from omegaconf import OmegaConf

REPO_ROOT = Path(__file__).resolve().parents[1]


def _dirname(override_dirname: str | None) -> str:
    """A job's output folder name from its overrides: filesystem-safe, deterministic, 'default' if none."""
    text = (override_dirname or "").strip()
    if not text:
        return "default"
    safe = re.sub(r"[^A-Za-z0-9=,._+\-\[\]]", "_", text)
    if len(safe) <= 180:
        return safe
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{safe[:160]}...{digest}"  # long override lists: a prefix to read, a hash to stay unique


if not OmegaConf.has_resolver("hc.dirname"):
    OmegaConf.register_new_resolver("hc.dirname", _dirname)

from experiments import schemas  # noqa: E402,F401  (registers the ConfigStore entries)


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
