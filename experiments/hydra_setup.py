"""Hydra glue for the app: the resolvers and typed schemas (registered by :mod:`hypercon.config`, which
composing needs at any floor) and the import-shadowing guard.

Imported by ``run.py`` and by tests that compose the config, before composition.
"""

from __future__ import annotations

from pathlib import Path

import hypercon.config  # noqa: F401  (registers the resolvers and the typed config schemas)

REPO_ROOT = Path(__file__).resolve().parents[1]


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
