"""The paper's grid-search selection rule (top 15% by FID, then lowest E_warp), the proxy, plots."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.collect import collect
from experiments.gridsearch import grid_table, plot_grid, save_selection, select_all, select_setting
from experiments.report import main
from metrics.reduce import aggregate
from experiments.store import atomic_write_json
from experiments.tables import render_markdown

GRID = list(itertools.product((1, 2, 3), (3, 5, 7), (1, 2)))  # (i, c, d): 18 settings


def frame(fid, ewarp, proxy=None, unavailable=None):
    rows = []
    for n, ((i, c, d), f, e) in enumerate(zip(GRID, fid, ewarp)):
        rows.append({"job": f"job{n}", "dataset": "synthetic", "task": "style", "model": "m", "style": None,
                     "i": i, "c": c, "d": d, "pool": "mean", "fid": f, "ewarp": e,
                     "fidelity_psnr": None if proxy is None else proxy[n], "unavailable": unavailable or {}})
    return pd.DataFrame(rows)


def test_rule_matches_independent_computation():
    rng = np.random.default_rng(3)
    fid, ewarp = rng.uniform(5, 30, len(GRID)), rng.uniform(0.001, 0.02, len(GRID))
    sel = select_setting(frame(fid, ewarp))
    k = math.ceil(0.15 * len(GRID))  # 3 of 18
    top = np.argsort(fid)[:k]
    expected = top[np.argmin(ewarp[top])]
    assert sel.criterion == "fid" and not sel.proxy and sel.num_settings == 18
    assert sel.selected["job"] == f"job{expected}"
    assert (sel.selected["i"], sel.selected["c"], sel.selected["d"]) == GRID[expected]
    assert {c["job"] for c in sel.candidates} == {f"job{j}" for j in top}
    assert np.argmin(ewarp) not in top or sel.selected["job"] == f"job{np.argmin(ewarp)}"
    assert "lowest E_warp" in sel.message and "top 3 of 18" in sel.message and "NOTE" not in sel.message


def test_lowest_ewarp_overall_is_not_chosen_outside_the_top_set():
    fid = np.arange(18, dtype=float) + 10  # job0 has the best FID
    ewarp = np.full(18, 0.01)
    ewarp[17] = 0.0001  # best E_warp, worst FID
    ewarp[2] = 0.005
    sel = select_setting(frame(fid, ewarp))
    assert sel.selected["job"] == "job2"


def test_proxy_stands_in_and_says_so():
    reason = "weights 'fid_inception' not found"
    proxy = np.linspace(20, 37, 18)  # higher is better: job17, job16, job15 form the top set
    ewarp = np.full(18, 0.01)
    ewarp[15] = 0.002
    ewarp[0] = 0.0001  # worst fidelity: not a candidate
    sel = select_setting(frame([None] * 18, ewarp, proxy, unavailable={"fid": reason}))
    assert sel.proxy and sel.criterion == "fidelity_psnr"
    assert sel.selected["job"] == "job15"
    assert sel.message.startswith("NOTE: FID is not available, the fidelity proxy fidelity_psnr stands in.")
    assert reason in sel.message and "highest" in sel.message


def test_top_set_size_ties_and_errors():
    assert len(select_setting(frame([1.0] * 7, [0.1] * 7).iloc[:7]).candidates) == 2  # ceil(1.05)
    assert len(select_setting(frame([1.0], [0.1]).iloc[:1]).candidates) == 1
    tied = select_setting(frame([5.0] * 18, [0.01] * 18))  # all equal: smallest (i, c, d) first
    assert tied.selected["job"] == "job0"
    partial = frame([np.nan] + [5.0] * 17, [0.01] * 18)
    assert select_setting(partial).excluded == ["job0"]
    with pytest.raises(ValueError, match="E_warp"):
        select_setting(frame([1.0] * 18, [None] * 18))
    with pytest.raises(ValueError, match="neither"):
        select_setting(frame([None] * 18, [0.1] * 18))
    with pytest.raises(ValueError, match="top_fraction"):
        select_setting(frame([1.0] * 18, [0.1] * 18), top_fraction=0)


def write_grid(root, dataset="synthetic", with_fid=False):
    """A grid sweep in the store format: E_warp falls with c, fidelity falls with c and d."""
    for (i, c, d) in GRID[:12]:
        job = root / f"{dataset},i={i},c={c},d={d}"
        videos = []
        for v in ("a", "b"):
            metrics = {"ewarp": 0.02 / c + 0.001 * abs(d - 1) + 0.0001 * i + (0.0002 if v == "b" else 0),
                       "fidelity_psnr": 40 - c - 2 * d + i + (0.5 if v == "b" else 0)}
            videos.append({"video": v, "metrics": metrics, "num_frames": 4, "size": [32, 24],
                           "config_hash": "h", "complete": True})
        prov = {"config_hash": "h", "config": {
            "method": {"name": "hypercon", "num_inserted": i, "window": c, "dilation": d, "pool": "mean"},
            "dataset": {"name": dataset}, "task": {"name": "style"}, "model": {"name": "kmeans_palette"}},
            "method": {"name": "hypercon", "tier": "offline", "label": f"HyperCon-mean (i={i}, c={c}, d={d})",
                       "axes": {"i": i, "c": c, "d": d, "pool": "mean"}, "table_rank": 2,
                       "components": {"model": {"name": "kmeans_palette", "tier": "offline"}}},
            "metric_flow": {"name": "dis", "tier": "offline"}, "metrics": {}}
        atomic_write_json(job / "results.json", {
            "complete": True, "num_videos": 2, "videos": videos,
            "aggregate": {k: aggregate(r["metrics"][k] for r in videos) for k in ("ewarp", "fidelity_psnr")},
            "set_metrics": {"fid": 10.0 + c + d - i} if with_fid else {},
            "unavailable": {} if with_fid else {"fid": "weights missing"}, "provenance": prov})


def test_grid_report_table_selection_and_plots(tmp_path):
    root = tmp_path / "gridsearch_style"
    write_grid(root)
    write_grid(root, dataset="other", with_fid=True)
    col = collect(root)
    sels = select_all(col)
    assert [s.group["dataset"] for s in sels] == ["other", "synthetic"]
    assert not sels[0].proxy and sels[1].proxy
    table = grid_table(col, sels)
    md = render_markdown(table)
    assert md.count("★") == 2 + 1  # one selected row per group + the legend
    assert table.keys[:2] == ["fidelity_psnr", "ewarp"] or table.keys[:2] == ["fid", "ewarp"]
    assert "FID is not available, the fidelity proxy fidelity_psnr stands in" in md
    paths = plot_grid(col, sels[1], tmp_path / "plots" / "grid")
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[1].read_bytes()[:5] == b"%PDF-"
    save_selection(sels, tmp_path / "selection.json")
    saved = json.loads((tmp_path / "selection.json").read_text())
    assert saved["selections"][1]["proxy"] is True
    assert saved["selections"][1]["selected"]["job"] == sels[1].selected["job"]
    assert saved["selections"][1]["selected"]["c"] == sels[1].selected["c"] == 3  # numbers stay numbers

    assert main([str(root), "--out", str(tmp_path / "rep")]) == 0  # auto -> grid
    names = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"grid.md", "grid.tex", "grid.csv", "selection.json", "grid_dataset_other_task_style_model_kmeans_palette.png",
            "grid_dataset_synthetic_task_style_model_kmeans_palette.pdf"} <= names
