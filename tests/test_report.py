"""Collecting result stores into DataFrames, the paper's table layouts, the report CLI."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from scipy.stats import sem as scipy_sem

from experiments.collect import collect
from experiments.report import choose_table, main, report
from metrics.reduce import aggregate
from experiments.store import atomic_write_json, read_json
from hypercon.component import TRAINED_HERE
from experiments.tables import STAND_IN_REASON, TABLES, USER_REASON, build_table, render_csv, render_latex, render_markdown


def make_job(root, name, *, method="hypercon", dataset="davis2016", task="style", model="kmeans_palette",
             style=None, i=2, c=5, d=1, pool="mean", videos=None, set_metrics=None, unavailable=None,
             complete=True, write_results=True):
    """Write one job folder in the store format (experiments/store.py, experiments/results.py)."""
    job = root / name
    videos = videos or {"v1": {"ewarp": 0.01}, "v2": {"ewarp": 0.02}}
    model_cfg = {"_target_": "x.KMeans", "name": model, **({"style": style} if style else {})}
    method_cfg = {"name": method} if method == "framewise" else {
        "name": method, "num_inserted": i, "window": c, "dilation": d, "pool": pool}
    components = {"model": {"name": model, "tier": "offline", "weights": None}}
    if method != "framewise":
        components.update({"interp": {"name": "flow_linear", "tier": "offline"},
                           "flow": {"name": "dis", "tier": "offline"}})
    config_hash = f"h-{name}"
    framewise = method == "framewise"
    # what the methods record about themselves (hypercon.method.VideoMethod.provenance)
    described = {"label": f"{ {'cxtattn': 'Cxtattn', 'fst_engstrom': 'FST'}.get(model, model)} (frame-wise)",
                 "axes": {}, "is_reference": True, "table_rank": 0} if framewise else {
        "label": f"HyperCon-{pool} (i={i}, c={c}, d={d})", "axes": {"i": i, "c": c, "d": d, "pool": pool},
        "is_reference": False, "table_rank": 2}
    # a frame-wise run is its own reference: metrics comparing with it are recorded as self-references
    self_reference = (["fid", "fidelity"] if task == "style" else []) if framewise else []
    provenance = {
        "config_hash": config_hash, "seed": 0,
        "config": {"method": method_cfg, "dataset": {"name": dataset}, "task": {"name": task}, "model": model_cfg,
                   "metrics": {"occlusion_rule": "lai"}, "seed": 0},
        "method": {"name": method, "tier": "offline", "components": components,
                   "options": {k: v for k, v in method_cfg.items() if k != "name"}, **described},
        "metric_flow": {"name": "dis", "tier": "offline"},
        "metrics": {"ewarp": {"name": "ewarp", "tier": "offline"}},
        "unavailable_metrics": dict(unavailable or {}),
    }
    records = []
    for video, metrics in videos.items():
        record = {"video": video, "method": method, "dataset": dataset, "task": task, "num_frames": 4,
                  "size": [32, 24], "metrics": metrics, "unavailable": {}, "timing_s": {"method": 0.1},
                  "config_hash": config_hash, "complete": True}
        atomic_write_json(job / "videos" / video / "metrics.json", record)
        records.append(record)
    atomic_write_json(job / "provenance.json", provenance)
    if write_results:
        keys = list(dict.fromkeys(k for r in records for k in r["metrics"]))
        atomic_write_json(job / "results.json", {
            "complete": complete, "num_videos": len(records), "videos": records,
            "aggregate": {k: aggregate(r["metrics"].get(k) for r in records) for k in keys},
            "set_metrics": dict(set_metrics or {}), "unavailable": dict(unavailable or {}),
            "self_reference": self_reference, "provenance": provenance})
    return job


FW = {"v1": {"ewarp": 0.030, "cpsnr": 18.0, "fidelity_psnr": float("inf")},
      "v2": {"ewarp": 0.050, "cpsnr": 16.0, "fidelity_psnr": float("inf")},
      "v3": {"ewarp": 0.040, "cpsnr": 17.0, "fidelity_psnr": float("inf")}}
HC = {"v1": {"ewarp": 0.010, "cpsnr": 21.0, "fidelity_psnr": 30.0},
      "v2": {"ewarp": 0.014, "cpsnr": 19.0, "fidelity_psnr": 28.0},
      "v3": {"ewarp": 0.012, "cpsnr": 22.0, "fidelity_psnr": 29.0}}
NO_FID = {"fid": "weights 'fid_inception' not found: put pt_inception-2015-12-05.pth in $HYPERCON_WEIGHTS"}


@pytest.fixture
def style_sweep(tmp_path):
    root = tmp_path / "sweep"
    make_job(root, "method=framewise", method="framewise", videos=FW, unavailable=NO_FID)
    make_job(root, "method=hypercon", videos=HC, unavailable=NO_FID)
    return root


def test_collect_jobs_and_videos(style_sweep):
    col = collect(style_sweep)
    assert len(col.jobs) == 2 and len(col.videos) == 6
    hc = col.jobs.set_index("method").loc["hypercon"]
    assert (hc["i"], hc["c"], hc["d"], hc["pool"]) == (2, 5, 1, "mean")
    assert hc["model"] == "kmeans_palette" and hc["metric_flow"] == "dis" and hc["tier"] == "offline"
    assert col.jobs.set_index("method").loc["framewise"][["i", "c", "d"]].isna().all()
    assert set(col.videos["video"]) == {"v1", "v2", "v3"}
    assert col.videos.groupby("method")["ewarp"].mean()["hypercon"] == pytest.approx(0.012)
    assert col.metric_keys == ["ewarp", "cpsnr", "fidelity_psnr"]


def test_table_cells_are_mean_sem_with_best_in_bold(style_sweep):
    table = build_table(collect(style_sweep), "table1")
    (dataset, rows), = table.blocks
    assert dataset == "davis2016"
    assert [r.label for r in rows] == ["kmeans_palette (frame-wise)", "HyperCon-mean (i=2, c=5, d=1)"]
    fw, hc = rows
    vals = [HC[v]["ewarp"] for v in HC]
    cell = hc.cells[(None, "ewarp")]
    assert cell.mean == pytest.approx(np.mean(vals)) and cell.sem == pytest.approx(scipy_sem(vals))
    assert cell.text == f"{np.mean(vals):.6f} ± {scipy_sem(vals):.6f}"
    assert cell.bold and not fw.cells[(None, "ewarp")].bold  # lower E_warp is better
    assert hc.cells[(None, "cpsnr")].bold  # higher C_PSNR is better: 20.67 > 17
    assert fw.cells[(None, "fid")].text == "–"  # the frame-wise output is its own FID reference
    assert fw.cells[(None, "fidelity_psnr")].status == "self_reference"
    assert hc.cells[(None, "fid")].text == "unavailable"
    assert "cssim" not in table.keys  # computed by no job: column dropped
    assert table.headers["ewarp"] == "E_warp(dis) ↓" and table.headers["cpsnr"] == "C_PSNR ↑"


def test_markdown_has_layout_notes_and_provenance(style_sweep):
    md = render_markdown(build_table(collect(style_sweep), "table1"))
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Dataset"))
    assert header.split(" | ")[2:5] == ["FID ↓", "E_warp(dis) ↓", "C_PSNR ↑"]
    assert "| davis2016 | kmeans_palette (frame-wise) [1] |" in md
    assert "**0.012000 ± 0.001155**" in md
    assert "unavailable: fid: weights 'fid_inception' not found" in md
    assert "hypercon (tier offline; i=2, c=5, d=1, pool=mean): model kmeans_palette (offline); interp flow_linear (offline)" in md
    assert "E_warp(dis) on source-video flow dis (offline)" in md
    assert "not available: FST-vcons: needs Lai et al.'s ECCV18_blind_consistency.pth" in md  # vcons did not run


def test_style_column_groups_and_latex(tmp_path):
    root = tmp_path / "t1"
    for style in ("rain_princess", "udnie"):
        make_job(root, f"framewise,{style}", method="framewise", model="fst_engstrom", style=style, videos=FW)
        make_job(root, f"hypercon,{style}", model="fst_engstrom", style=style, videos=HC)
    make_job(root, "hypercon,davis2017", dataset="davis2017", model="fst_engstrom", style="udnie", videos=HC)
    table = build_table(collect(root), "table1")
    assert table.group_name == "style" and table.groups == ["rain_princess", "udnie"]
    assert [b[0] for b in table.blocks] == ["davis2017", "davis2016"]  # the paper's dataset order first
    rows = dict(table.blocks)["davis2016"]
    assert [r.label for r in rows] == ["FST (frame-wise)", "HyperCon-mean (i=2, c=5, d=1)"]
    assert ("udnie", "ewarp") in rows[1].cells and ("rain_princess", "ewarp") in rows[1].cells
    md = render_markdown(table)
    assert "rain_princess: E_warp(dis) ↓" in md and "udnie: C_PSNR ↑" in md
    tex = render_latex(table)
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\multicolumn{3}{c}{rain\_princess}",
                  r"\cmidrule(lr){3-5}", r"\textbf{0.012000 $\pm$ 0.001155}", r"E\_warp(dis) $\downarrow$"):
        assert token in tex
    assert tex.count("{") == tex.count("}")
    assert all(line.count("&") == 2 + 2 * 3 - 1 for line in tex.splitlines()
               if line.endswith(r"\\") and "&" in line and "multicolumn" not in line)


def test_csv_long_format(style_sweep):
    table = build_table(collect(style_sweep), "table1")
    rows = list(csv.DictReader(io.StringIO(render_csv(table))))
    assert len(rows) == 2 * len(table.keys)
    hc = {r["metric"]: r for r in rows if r["method"] == "HyperCon-mean (i=2, c=5, d=1)"}
    assert float(hc["ewarp"]["mean"]) == pytest.approx(0.012) and hc["ewarp"]["best"] == "1"
    assert hc["fid"]["status"] == "unavailable" and "fid_inception" in hc["fid"]["reason"]
    assert int(hc["cpsnr"]["n"]) == 3
    assert hc["ewarp"]["job"] == "method=hypercon" and hc["ewarp"]["components"].startswith("hypercon (tier offline")


def test_inpaint_table2_layout_and_missing_methods(tmp_path):
    root = tmp_path / "t2"
    gt = {"v1": {"ewarp": 0.002, "lpips": 0.05, "psnr": 30.0}, "v2": {"ewarp": 0.003, "lpips": 0.07, "psnr": 28.0}}
    make_job(root, "fw", method="framewise", task="inpaint", model="cxtattn", videos=gt, set_metrics={"fid": 20.9})
    make_job(root, "mean", task="inpaint", model="cxtattn", videos=gt, set_metrics={"fid": 18.5})
    make_job(root, "median", task="inpaint", model="cxtattn", pool="median", videos=gt, set_metrics={"fid": 17.7})
    col = collect(root)
    assert choose_table(col) == "table2"  # mean and median are two rows, not a grid
    table = build_table(col, "table2")
    rows = table.blocks[0][1]
    assert [r.label for r in rows] == ["Cxtattn (frame-wise)", "HyperCon-mean (i=2, c=5, d=1)", "HyperCon-median (i=2, c=5, d=1)"]
    fid = [r.cells[(None, "fid")] for r in rows]
    assert [c.text for c in fid] == ["20.90", "18.50", "17.70"] and [c.bold for c in fid] == [False, False, True]
    assert fid[0].sem is None  # a set metric: one value, no standard error
    assert table.keys == ["lpips", "fid", "ewarp", "psnr"]
    md = render_markdown(table)
    assert "not available: VINet" in md and "not available: Cxtattn-vcons" in md


def make_vcons_job(root, name, *, tier, label, videos=HC, **kwargs):
    """A vcons job: its method provenance as ``BlindConsistency`` records it (fake: no checkpoint is loaded)."""
    job = make_job(root, name, model="fst_engstrom", videos=videos, **kwargs)
    described = {"name": "vcons", "label": label, "tier": tier, "axes": {}, "is_reference": False,
                 "needs_reference_input": True, "table_rank": 1,
                 "options": {"checkpoint": "paper" if tier == "paper" else "trained", "feedback": "uint8"}}
    for path in (job / "provenance.json", job / "results.json"):
        record = read_json(path)
        provenance = record.get("provenance", record)
        provenance["method"] = {**provenance["method"], **described}
        provenance["config"]["method"] = {"name": "vcons", **described["options"]}
        atomic_write_json(path, record)
    return job


def _vcons_sweep(root, tier, label):
    make_job(root, "framewise", method="framewise", model="fst_engstrom", videos=FW)
    make_vcons_job(root, "vcons", tier=tier, label=label)
    return render_markdown(build_table(collect(root), "table1"))


def test_trained_here_vcons_is_marked_and_never_fills_the_paper_row(tmp_path):
    md = _vcons_sweep(tmp_path / "trained", TRAINED_HERE, "FST-vcons (trained here)")
    assert "| FST-vcons (trained here) † [2] |" in md
    assert ("not available: FST-vcons: needs Lai et al.'s ECCV18_blind_consistency.pth "
            "(method=vcons method.checkpoint=paper)") in md
    assert "† trained-here" in md


def test_paper_tier_vcons_fills_its_paper_row(tmp_path):
    md = _vcons_sweep(tmp_path / "paper", "paper", "FST-vcons")
    assert "| FST-vcons [2] |" in md and "not available: FST-vcons" not in md and "†" not in md


def test_stand_in_results_are_refused_in_paper_tables_and_footnoted_elsewhere(tmp_path):
    md = _vcons_sweep(tmp_path / "standin", "test", "FST-vcons")
    row = next(line for line in md.splitlines() if line.startswith("|  | FST-vcons (test)"))
    assert {c.strip() for c in row.strip("|").split("|")[2:]} == {"refused"}
    assert "FST-vcons (test) [2]" in row and f"REFUSED: vcons: {STAND_IN_REASON}" in md
    assert "not available: FST-vcons" in md  # a stand-in never stands for the paper's row
    blind = render_markdown(build_table(collect(tmp_path / "standin"), "blind_baselines"))
    assert "refused" not in blind and "| FST-vcons (test) [" in blind and "(test): stand-in weights" in blind
    # a metric network on stand-in weights makes the result test too, whatever the method's tier
    job = tmp_path / "standin" / "framewise"
    for path in (job / "provenance.json", job / "results.json"):
        record = read_json(path)
        record.get("provenance", record)["metrics"]["ewarp"]["tier"] = "test"
        atomic_write_json(path, record)
    assert collect(tmp_path / "standin").jobs.set_index("job")["tier"]["framewise"] == "test"


def test_blind_baselines_table_bolds_the_saturation_ratio_closest_to_one(tmp_path):
    root = tmp_path / "blind_baselines"
    make_job(root, "framewise", method="framewise", model="fst_engstrom", videos=FW)
    for name, tier, label, ratio in (("vcons", TRAINED_HERE, "FST-vcons (trained here)", 0.62),
                                     ("other", "offline", "Over-saturating", 1.30)):
        make_vcons_job(root, name, tier=tier, label=label,
                       videos={v: {**m, "saturation_ratio": ratio} for v, m in HC.items()})
    make_job(root, "hypercon", model="fst_engstrom", videos={v: {**m, "saturation_ratio": 0.95} for v, m in HC.items()})
    text, written = report(root, "blind_baselines", "md")
    assert text.startswith("**Blind post-processing baselines") and "blind_baselines.csv" in str(written["blind_baselines.csv"])
    assert "Sat. ratio →1" in text and "**0.950 ± 0.000**" in text and "**0.620" not in text
    assert "| FST-vcons (trained here) † [" in text and "not available" not in text  # not a paper table


def test_paper_rows_of_landed_methods_are_known_without_their_runs():
    from baselines import PLANNED_ROWS, declared_paper_rows
    from experiments.tables import missing_paper_rows

    strict = {(r.table, r.label) for r in declared_paper_rows() if r.strict}
    assert {("table1", "FST-vcons"), ("table2", "Cxtattn-vcons"), ("table2", "VINet")} <= strict
    assert PLANNED_ROWS == ()  # every row of the paper's tables has a method now
    assert any(n.startswith("not available: VINet: needs VINet's save_agg_rec_512.pth")
               for n in missing_paper_rows("table2", {"Cxtattn (frame-wise)"}))
    assert not any("VINet" in n for n in missing_paper_rows("table2", {"VINet"}))
    notes = missing_paper_rows("table1", {"FST (frame-wise)", "FST-vcons (trained here) †"})
    assert notes == ["not available: FST-vcons: needs Lai et al.'s ECCV18_blind_consistency.pth "
                     "(method=vcons method.checkpoint=paper)"]
    assert missing_paper_rows("table1", {"FST-vcons"}) == []


def test_duplicate_labels_get_settings(tmp_path):
    root = tmp_path / "g"
    for c in (3, 5):
        make_job(root, f"c={c}", c=c, videos=HC)
    col = collect(root)
    assert choose_table(col) == "grid"
    rows = build_table(col, "table1").blocks[0][1]
    assert sorted(r.label for r in rows) == ["HyperCon-mean (i=2, c=3, d=1)", "HyperCon-mean (i=2, c=5, d=1)"]


def test_incomplete_job_is_rebuilt_and_flagged(tmp_path):
    root = tmp_path / "killed"
    make_job(root, "done", videos=HC)
    make_job(root, "half", method="framewise", videos={"v1": FW["v1"]}, write_results=False)
    col = collect(root)
    half = col.jobs.set_index("job").loc["half"]
    assert not half["complete"] and half["num_videos"] == 1 and half["ewarp"] == pytest.approx(0.03)
    assert "INCOMPLETE: 1 job(s)" in render_markdown(build_table(col, "table1"))


def test_report_cli_writes_all_formats(style_sweep, capsys):
    assert main([str(style_sweep), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Table 1: video style transfer**")
    for ext in ("md", "tex", "csv"):
        assert (style_sweep / "report" / f"table1.{ext}").stat().st_size > 100
    text, written = report(style_sweep, "table1", "tex", style_sweep / "elsewhere")
    assert written["table"] == "table1" and text.startswith(r"\begin{table}")
    assert (style_sweep / "elsewhere" / "table1.tex").is_file()
    assert main([str(style_sweep), "--table", "table2"]) == 2  # Table 2 holds inpainting jobs only
    assert main([str(style_sweep / "missing")]) == 2


def test_columns_are_described_by_the_metric_classes():
    """Every table column's label, format and direction is declared by its metric class (the one source)."""
    from metrics.registry import declared_keys

    declared = declared_keys()
    lower_is_better = {"fid", "vfid", "ewarp", "ewarp_all", "ewarp_masked", "lpips", "vlpips"}
    for table in TABLES.values():
        for key in table.metrics:
            assert declared[key].higher_is_better == (key not in lower_is_better), key
            assert declared[key].label and declared[key].fmt.startswith("."), key
    assert declared["fid"].set_metric and declared["vfid"].set_metric and not declared["ewarp"].set_metric
    assert {k for k, s in declared.items() if s.clip_inf} == {"cpsnr", "psnr", "fidelity_psnr"}
    assert declared["fidelity_psnr"].compare_with == "reference" and declared["psnr"].compare_with == "gt"
    assert declared["ewarp"].compare_with == "source" and declared["cssim"].compare_with == "nothing"


def test_user_model_results_are_refused_in_paper_tables_and_footnoted_elsewhere(tmp_path):
    md = _vcons_sweep(tmp_path / "user", "user", "FST-vcons")
    row = next(line for line in md.splitlines() if line.startswith("|  | FST-vcons (user)"))
    assert {c.strip() for c in row.strip("|").split("|")[2:]} == {"refused"}
    assert f"REFUSED: vcons: {USER_REASON}" in md and "not available: FST-vcons" in md
    blind = render_markdown(build_table(collect(tmp_path / "user"), "blind_baselines"))
    assert "refused" not in blind and "(user): a model the user brought" in blind


def test_metric_key_reads_records_written_before_compare_with_was_named_so():
    from metrics.base import MetricKey

    old = {"label": "PSNR", "fmt": ".2f", "higher_is_better": True, "compares_with": "gt"}
    assert MetricKey.from_dict(old).compare_with == "gt"
    key = MetricKey("FID", ".2f", False, "reference")
    assert MetricKey.from_dict(key.to_dict()) == key and "compares_with" not in key.to_dict()
