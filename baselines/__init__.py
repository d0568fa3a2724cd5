"""The video methods HyperCon is compared with: one module (or folder) per baseline.

A method declares the paper rows it reproduces on its class (:attr:`hypercon.method.VideoMethod.paper_rows`);
:func:`declared_paper_rows` gathers them from every method config (``conf/method/*.yaml``), so the tables know
them even for a method that did not run. Rows of the paper's tables that no method here can produce yet are
declared below in :data:`PLANNED_ROWS`; the tables list them as "not available". A baseline that lands removes
its rows from this list and declares them on its class.
"""

from __future__ import annotations

import importlib

from omegaconf import OmegaConf

from hypercon.config import CONF_DIR
from hypercon.method import PaperRow

PLANNED_ROWS: tuple[PaperRow, ...] = ()


def declared_paper_rows() -> tuple[PaperRow, ...]:
    """The ``paper_rows`` of every method class named by the ``_target_`` of a ``conf/method/*.yaml`` (in file
    order, each row once; a config without a ``_target_`` of its own, e.g. one extending another, adds none)."""
    rows: dict[PaperRow, None] = {}
    for path in sorted((CONF_DIR / "method").glob("*.yaml")):
        target = OmegaConf.load(path).get("_target_")
        if target:
            module, _, name = str(target).rpartition(".")
            rows.update(dict.fromkeys(getattr(importlib.import_module(module), name).paper_rows))
    return tuple(rows)
