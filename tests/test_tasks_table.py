"""The new-tasks table (experiments/tasks_table.py): rows (task, metric), columns methods, Wei's numbers below."""

from __future__ import annotations

from experiments.collect import collect
from experiments.report import report
from experiments.store import atomic_write_json, read_json
from experiments.tables import render_csv, render_markdown
from experiments.tasks_table import WEI_TABLE1, build_tasks_table
from test_report import make_job


def _with_metrics(job, names):
    """Record which metrics ran (the table takes each key's label from them)."""
    for f in ("provenance.json", "results.json"):
        data = read_json(job / f)
        prov = data if f == "provenance.json" else data["provenance"]
        prov["metrics"] = {n: {"name": n, "tier": "offline"} for n in names}
        atomic_write_json(job / f, data)


def test_tasks_table_rows_are_task_metrics_and_columns_methods(tmp_path):
    fw = {"v1": {"psnr": 30.0, "ewarp": 0.02}, "v2": {"psnr": 32.0, "ewarp": 0.04}}
    hc = {"v1": {"psnr": 31.0, "ewarp": 0.01}, "v2": {"psnr": 31.0, "ewarp": 0.01}}
    for task in ("colorize", "sr2x"):
        _with_metrics(make_job(tmp_path, f"{task}-fw", method="framewise", task=task, model="wei_image2image",
                               videos=fw), ["gt", "ewarp"])
        _with_metrics(make_job(tmp_path, f"{task}-hc", task=task, model="wei_image2image", videos=hc), ["gt", "ewarp"])
    make_job(tmp_path, "style-fw", method="framewise", task="style")  # another task: not in this table
    table = build_tasks_table(collect(tmp_path))
    assert [b for b, _ in table.blocks] == ["colorize", "sr2x"]
    assert table.keys == ["framewise", "hypercon"]  # one column per method config, across tasks
    assert table.headers["framewise"].startswith("wei_image2image (frame-wise)")
    rows = {r.label.split(" ")[0]: r for r in table.blocks[0][1]}
    assert set(rows) == {"PSNR", "E_warp(dis)"}
    psnr = rows["PSNR"].cells
    assert psnr[(None, "framewise")].mean == 31.0  # mean over the two videos
    assert psnr[(None, "hypercon")].mean == 31.0
    ewarp = rows["E_warp(dis)"].cells
    assert ewarp[(None, "hypercon")].bold and not ewarp[(None, "framewise")].bold
    text = render_markdown(table)
    assert "| Task | Metric |" in text and "colorize" in text and "37.8843" in text  # Wei's numbers below
    csv_text = render_csv(table)
    assert csv_text.startswith("task,metric,group,method,mean") and ",hypercon," in csv_text


def test_report_auto_adds_the_tasks_table(tmp_path):
    _with_metrics(make_job(tmp_path, "sr-fw", method="framewise", task="sr2x", model="bicubic",
                           videos={"v1": {"psnr": 29.0}}), ["gt"])
    text, written = report(tmp_path)
    assert written["table"] == "tasks" and "sr2x" in text
    assert (tmp_path / "report" / "tasks.md").exists()


def test_wei_table1_matches_the_text_gains():
    # the paper's text states the gains of local+global over local: J +0.187, F +0.1657, +3.06 dB, +2.46 dB
    assert round(WEI_TABLE1[("vseg", "j_mean")][3] - WEI_TABLE1[("vseg", "j_mean")][2], 3) == 0.187
    assert round(WEI_TABLE1[("vseg", "f_mean")][3] - WEI_TABLE1[("vseg", "f_mean")][2], 4) == 0.1657
    assert abs(WEI_TABLE1[("colorize", "psnr")][3] - WEI_TABLE1[("colorize", "psnr")][2] - 3.06) < 0.01
    assert abs(WEI_TABLE1[("sr2x", "psnr")][3] - WEI_TABLE1[("sr2x", "psnr")][2] - 2.46) < 0.01
