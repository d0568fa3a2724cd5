"""Issue 11, "Integrity first" (the runner's half): no silent wrong number, no lost result, one clear line
for every bad input. Each test names its item; most run ``python run.py`` as a user would (tiny videos)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from experiments.store import RunStore, read_json
from hypercon.errors import InputError, InputNotFound, SettingError, UserError

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=2", "dataset.num_frames=4", "dataset.height=40", "dataset.width=56", "save_video=false"]
SMALL_HYPERCON = ["method.num_inserted=1", "method.window=3"]


def cfg_for(tmp_path: Path, *overrides: str):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        tiny = ["save_video=false"] if any(o.startswith("dataset=") for o in overrides) else TINY
        return compose(config_name="config", overrides=[*tiny, f"paths.output_root={tmp_path}", *overrides])


def run_cli(*args: str, module: str | None = None, env: dict | None = None, cwd: Path = REPO):
    command = [sys.executable, "-m", module] if module else [sys.executable, "run.py"]
    full_env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "HYPERCON_VERBOSE")}
    full_env.update({"PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run([*command, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def write_videos(root: Path, seeds: dict[str, int], num_frames: int = 4) -> None:
    from datasets.synthetic import make_synthetic_video
    from hypercon.io.frames import write_frames

    for name, seed in seeds.items():
        write_frames(make_synthetic_video(seed=seed, num_frames=num_frames, height=40, width=56).frames, root / name)


def metrics_of(results: dict) -> dict[str, dict[str, float]]:
    return {row["video"]: row["metrics"] for row in results["videos"]}


# ---- 1. resume keyed on content -------------------------------------------------------------------------

def test_item1_resume_with_same_names_but_other_frames_gives_the_new_numbers(tmp_path):
    """root=A, then root=B (same video names, other frames) into the same folder and cache: B's numbers
    (as a fresh run on B with a fresh cache gives them), not A's."""
    write_videos(tmp_path / "A", {"v1": 0, "v2": 1})
    write_videos(tmp_path / "B", {"v1": 2, "v2": 3})
    common = ["dataset=folder", "method=hypercon", *SMALL_HYPERCON]
    cache = f"paths.cache_dir={tmp_path / 'cache'}"
    out = tmp_path / "run"
    from_a = run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'A'}", cache), out)
    resumed = run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'B'}", cache), out)
    fresh = run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'B'}", f"paths.cache_dir={tmp_path / 'c2'}"),
                tmp_path / "fresh")
    assert metrics_of(resumed) == metrics_of(fresh)
    assert metrics_of(resumed)["v1"]["ewarp"] != metrics_of(from_a)["v1"]["ewarp"]
    assert {"ewarp", "fidelity_psnr"} <= set(metrics_of(resumed)["v1"])  # source-flow and reference caches used


def test_item1_caches_are_keyed_on_content(tmp_path):
    """A's entries in the source-flow and frame-wise-reference caches never answer for B (other folder, same
    cache): E_warp (source flow) and fidelity (reference) equal a fresh-cache run on B."""
    write_videos(tmp_path / "A", {"v1": 0})
    write_videos(tmp_path / "B", {"v1": 5})
    common = ["dataset=folder", "method=hypercon", *SMALL_HYPERCON]
    cache = f"paths.cache_dir={tmp_path / 'cache'}"
    run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'A'}", cache), tmp_path / "a")
    shared = run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'B'}", cache), tmp_path / "b")
    fresh = run(cfg_for(tmp_path, *common, f"dataset.root={tmp_path / 'B'}", f"paths.cache_dir={tmp_path / 'c2'}"),
                tmp_path / "b2")
    assert metrics_of(shared) == metrics_of(fresh)
    assert len(list((tmp_path / "cache" / "source_motion").rglob("*.npz"))) == 2
    assert len(list((tmp_path / "cache" / "reference").rglob("*.npz"))) == 2


def test_item1_a_changed_mask_is_a_changed_input(tmp_path):
    from experiments.runner import input_digest
    import torch

    frames = torch.rand(3, 3, 8, 8)
    known = torch.ones(3, 1, 8, 8)
    other = known.clone()
    other[0, 0, 0, 0] = 0
    assert input_digest(frames, known, None) != input_digest(frames, other, None)
    assert input_digest(frames, known, None) == input_digest(frames.clone(), known.clone(), None)


# ---- 5. two configs, one folder ------------------------------------------------------------------------

def test_item5_another_configs_folder_is_refused_naming_folder_and_keys(tmp_path):
    out = tmp_path / "same"
    base = [f"hydra.run.dir={out}", "dataset.num_videos=1", "dataset.num_frames=4", "dataset.height=32",
            "dataset.width=48", "save_video=false", f"paths.output_root={tmp_path}"]
    first = run_cli(*base, "method=framewise")
    assert first.returncode == 0, first.stderr
    before = (out / "results.json").read_bytes()
    second = run_cli(*base, "method=hypercon", *SMALL_HYPERCON)
    assert second.returncode == 2
    lines = error_lines(second.stderr)
    assert len(lines) == 1 and str(out) in lines[0] and "method." in lines[0] and "overwrite=true" in lines[0]
    assert (out / "results.json").read_bytes() == before  # the first run's results are intact
    replaced = run(cfg_for(tmp_path, "dataset.num_videos=1", "dataset.height=32", "dataset.width=48",
                           "method=hypercon", *SMALL_HYPERCON, "overwrite=true"), out)
    assert replaced["complete"] and read_json(out / "results.json")["provenance"]["method"]["name"] == "hypercon"


# ---- 6. unreadable cache entries; a failed run keeps a complete aggregate --------------------------------

def test_item6_truncated_flow_cache_with_overwrite_is_recomputed(tmp_path):
    cfg = cfg_for(tmp_path, "method=framewise", "dataset.height=32", "dataset.width=48")
    first = run(cfg, tmp_path / "run")
    entries = sorted((tmp_path / "cache" / "source_motion").rglob("*.npz"))
    assert len(entries) == 2
    entries[0].write_bytes(entries[0].read_bytes()[:100])  # truncated
    again = run(cfg_for(tmp_path, "method=framewise", "dataset.height=32", "dataset.width=48", "overwrite=true"),
                tmp_path / "run")
    assert again["complete"] and metrics_of(again) == metrics_of(first)
    with np.load(entries[0]) as data:  # replaced by a readable entry
        assert "flow_fw" in data.files


def test_item6_unreadable_feature_file_is_not_complete(tmp_path):
    store = RunStore(tmp_path)
    store.save_features("v", "fid", {"mu": np.zeros(3)})
    store.save_record("v", {"video": "v", "complete": True, "config_hash": "h", "input_digest": "d",
                            "features": ["fid"], "metrics": {}})
    assert store.is_complete("v", "h", "d")
    path = store.features_path("v", "fid")
    path.write_bytes(path.read_bytes()[:20])
    assert not store.is_complete("v", "h", "d")  # recomputed, never pooled from a broken file
    assert not store.is_complete("v", "h", "other input")


def test_item6_corrupt_activitynet_frame_cache_is_re_extracted(tmp_path):
    from PIL import Image

    from datasets.activitynet import ActivityNetDataset

    folder = tmp_path / "frames" / "v"
    folder.mkdir(parents=True)
    for t in range(4):
        Image.fromarray(np.full((8, 12, 3), 40 * t, np.uint8)).save(folder / f"img{t}.png")
    (tmp_path / "m.csv").write_text("clip_id,source,start_frame,num_frames\na,frames/v,0,4\n")
    make = lambda: ActivityNetDataset(str(tmp_path / "m.csv"), cache_dir=str(tmp_path / "cache"), size=None)  # noqa: E731
    first = make().load("a").frames
    cached = sorted((tmp_path / "cache" / "a").glob("*.png"))
    cached[1].write_bytes(cached[1].read_bytes()[:30])  # truncated cache entry
    again = make().load("a").frames
    assert (again == first).all()
    Image.open(cached[1]).load()  # replaced by a whole file


def test_item6_unreadable_saved_mask_is_rewritten_from_the_seed(tmp_path):
    from datasets.masks import rectangle_masks

    known, _ = rectangle_masks("v", 3, 24, 32, seed=0, mask_dir=tmp_path)
    (tmp_path / "v.png").write_bytes(b"\x89PNG torn")
    again, _ = rectangle_masks("v", 3, 24, 32, seed=0, mask_dir=tmp_path)
    assert (again == known).all()
    assert (rectangle_masks("v", 3, 24, 32, seed=0, mask_dir=tmp_path)[0] == known).all()  # whole again


def test_item6_failed_rerun_keeps_the_complete_aggregate(tmp_path):
    write_videos(tmp_path / "videos", {"a": 0, "b": 1})
    args = ["dataset=folder", f"dataset.root={tmp_path / 'videos'}", "method=framewise"]
    out = tmp_path / "run"
    assert run(cfg_for(tmp_path, *args), out)["complete"]
    before = (out / "results.json").read_bytes()
    (tmp_path / "videos" / "b" / "00001.png").write_bytes(b"broken")
    with pytest.raises(UserError, match="1 of 2 video"):
        run(cfg_for(tmp_path, *args, "overwrite=true"), out)
    assert (out / "results.json").read_bytes() == before


# ---- 7. a corrupt video in the middle ------------------------------------------------------------------

def test_item7_corrupt_middle_video_fails_alone_and_the_report_says_failed(tmp_path):
    write_videos(tmp_path / "videos", {"a": 0, "b": 1, "c": 2})
    (tmp_path / "videos" / "b" / "00002.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    proc = run_cli(f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", "dataset=folder",
                   f"dataset.root={tmp_path / 'videos'}", "method=framewise", "save_video=false")
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and "1 of 3 video(s) failed" in lines[0] and "00002.png" in lines[0]
    results = read_json(out / "results.json")
    assert [r["video"] for r in results["videos"]] == ["a", "c"] and not results["complete"]
    assert list(results["failed"]) == ["b"] and "00002.png" in results["failed"]["b"]
    record = read_json(out / "videos" / "b" / "metrics.json")
    assert record["status"] == "failed" and not record["complete"]

    from experiments.report import report

    text, _ = report(out, "table1", "md", tmp_path / "report")
    row = next(line for line in text.splitlines() if line.startswith("| folder"))
    assert row.count("failed") >= 1 and not any(ch.isdigit() for ch in row.split("|", 3)[3]), row
    assert "FAILED" in text and "b: " in text
    # fixing the input and rerunning fills the gap
    write_videos(tmp_path / "videos", {"b": 1})
    run(cfg_for(tmp_path, "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "method=framewise"), out)
    results = read_json(out / "results.json")
    assert results["complete"] and not results["failed"] and len(results["videos"]) == 3


# ---- 8. one line for expected errors, tracebacks for bugs ------------------------------------------------

@pytest.mark.parametrize("what", ["corrupt", "one_frame", "mixed_sizes"])
def test_item8_bad_input_prints_one_line_exit_2_traceback_in_run_log(tmp_path, what):
    from datasets.synthetic import make_synthetic_video
    from hypercon.io.frames import write_frames

    root = tmp_path / "videos"
    frames = make_synthetic_video(seed=0, num_frames=3, height=40, width=56).frames
    if what == "one_frame":
        frames = frames[:1]
    write_frames(frames, root / "v")
    if what == "corrupt":
        (root / "v" / "00001.png").write_bytes(b"\x89PNG truncated")
    if what == "mixed_sizes":
        write_frames(make_synthetic_video(seed=0, num_frames=2, height=32, width=56).frames[1:], root / "x")
        (root / "x" / "00000.png").rename(root / "v" / "00005.png")
    out = tmp_path / "run"
    proc = run_cli(f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", "dataset=folder",
                   f"dataset.root={root}", "method=framewise", "save_video=false")
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(root / "v") in lines[0]
    assert "Traceback" in (out / "run.log").read_text()
    if what != "corrupt":
        return
    verbose = run_cli("-v", f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", "dataset=folder",
                      f"dataset.root={root}", "method=framewise", "save_video=false")
    assert verbose.returncode == 2 and "Traceback" in verbose.stderr


def test_item8_missing_dataset_root_is_one_line(tmp_path):
    proc = run_cli(f"paths.output_root={tmp_path}", "dataset=folder", f"dataset.root={tmp_path / 'nowhere'}")
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and "dataset.root" in lines[0] and "nowhere" in lines[0]


def test_item8_a_bug_keeps_its_traceback(tmp_path):
    script = tmp_path / "buggy_run.py"
    script.write_text(
        "import runpy, sys\n"
        "import experiments.runner as r\n"
        "def boom(*a, **k):\n    raise ZeroDivisionError('a bug')\n"
        "r.run_video = boom\n"
        f"sys.argv = ['run.py', 'paths.output_root={tmp_path}', 'method=framewise', 'dataset.num_videos=1',"
        " 'dataset.num_frames=3', 'dataset.height=32', 'dataset.width=48', 'save_video=false']\n"
        f"runpy.run_path({str(REPO / 'run.py')!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "ZeroDivisionError: a bug" in proc.stderr


def test_item8_error_types_are_user_errors_and_keep_their_old_bases():
    from baselines.common.split import SplitViolation
    from hypercon.io.frames import read_image
    from hypercon.weights import WeightsError

    assert issubclass(WeightsError, UserError) and issubclass(SplitViolation, (UserError, ValueError))
    assert issubclass(InputError, ValueError) and issubclass(InputNotFound, FileNotFoundError)
    with pytest.raises(InputNotFound):
        read_image("/nonexistent/x.png")


def test_item8_report_and_weights_cli_one_line_exit_2(tmp_path):
    proc = run_cli(str(tmp_path / "missing"), module="experiments.report")
    assert proc.returncode == 2 and len(error_lines(proc.stderr)) == 1
    proc = run_cli("--pred", str(tmp_path / "missing"), "--source", str(tmp_path), "--metrics", "ewarp",
                   "--out", str(tmp_path / "o.json"), module="metrics")
    assert proc.returncode == 2 and len(error_lines(proc.stderr)) == 1


# ---- 10. errors found only after work started: checked first --------------------------------------------

@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a host without a CUDA GPU")
def test_item10_device_cuda_without_gpu_fails_before_any_work(tmp_path):
    proc = run_cli(f"paths.output_root={tmp_path / 'out'}", "device=cuda", "method=framewise")
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and "device=cuda" in lines[0] and "device=cpu" in lines[0]
    assert not (tmp_path / "out").exists()  # 11: no litter


@pytest.mark.parametrize("key", ["paths.output_root", "paths.cache_dir"])
def test_item10_unwritable_output_or_cache_fails_before_any_work(tmp_path, key):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    other = "paths.cache_dir" if key == "paths.output_root" else "paths.output_root"
    proc = run_cli(f"{key}={blocker / 'sub'}", f"{other}={tmp_path / 'other'}", "method=framewise")
    assert proc.returncode == 2
    lines = error_lines(proc.stderr)
    assert len(lines) == 1 and str(blocker) in lines[0]
    assert not (tmp_path / "other").exists()  # nothing was started


def test_item10_preflight_unit(tmp_path):
    from experiments.preflight import check_writable

    check_writable(tmp_path / "new" / "deeper", "paths.cache_dir")
    assert not (tmp_path / "new").exists()  # the check creates nothing
    (tmp_path / "f").write_text("")
    with pytest.raises(SettingError, match="paths.cache_dir"):
        check_writable(tmp_path / "f" / "x", "paths.cache_dir")


# ---- 11. a failed start leaves no litter ---------------------------------------------------------------

def test_item11_failed_start_writes_no_results_and_no_empty_log(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", "dataset=folder",
                   f"dataset.root={tmp_path / 'nowhere'}")
    assert proc.returncode == 2
    for name in ("results.csv", "results.json", "provenance.json", "videos"):
        assert not (out / name).exists(), name
    log = out / "run.log"
    assert not log.exists() or log.stat().st_size > 0


def test_item11_all_videos_failed_writes_no_rows_of_empty_aggregates(tmp_path):
    write_videos(tmp_path / "videos", {"a": 0})
    (tmp_path / "videos" / "a" / "00000.png").write_bytes(b"bad")
    out = tmp_path / "run"
    with pytest.raises(UserError, match="1 of 1 video"):
        run(cfg_for(tmp_path, "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "method=framewise"), out)
    lines = (out / "results.csv").read_text().splitlines()
    assert lines[0].startswith("video,") and [line.split(",")[0] for line in lines[1:]] == ["failed:a"]


# ---- 15. the default run can be re-evaluated from disk ---------------------------------------------------

def test_item15_saved_inputs_reproduce_the_metrics_exactly(tmp_path):
    out = tmp_path / "run"
    proc = run_cli(f"hydra.run.dir={out}", f"paths.output_root={tmp_path}", "method=framewise",
                   "dataset.num_videos=2", "dataset.num_frames=4", "dataset.height=64", "dataset.width=96",
                   "save_video=false")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "inputs").iterdir()) == ["synth-000", "synth-001"]
    # the command docs/metrics.md gives
    proc = run_cli("--pred", str(out / "videos"), "--source", str(out / "inputs"), "--metrics", "ewarp,cpsnr,cssim",
                   "--out", str(tmp_path / "reeval.json"), module="metrics")
    assert proc.returncode == 0, proc.stderr
    again = {row["video"]: row["metrics"] for row in json.loads((tmp_path / "reeval.json").read_text())["videos"]}
    runner = metrics_of(read_json(out / "results.json"))
    for video, values in again.items():
        for key in ("ewarp", "cpsnr", "cssim"):
            assert values[key] == runner[video][key], (video, key)


def test_item15_save_inputs_defaults(tmp_path):
    write_videos(tmp_path / "videos", {"a": 0})
    run(cfg_for(tmp_path, "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "method=framewise",
                "metrics=none"), tmp_path / "disk")
    assert not (tmp_path / "disk" / "inputs").exists()  # data on disk: not copied
    run(cfg_for(tmp_path, "method=framewise", "metrics=none", "save_inputs=false"), tmp_path / "off")
    assert not (tmp_path / "off" / "inputs").exists()
    with pytest.raises(Exception, match="save_inputs"):
        cfg_for(tmp_path, "save_inputs=maybe")


# ---- 16. each warning once per run; one-line notes --------------------------------------------------------

def test_item16_warnings_once_per_sweep_and_one_line_notes(tmp_path):
    proc = run_cli("-m", f"paths.output_root={tmp_path}", "sweep_name=s", "method=hypercon", *SMALL_HYPERCON,
                   "model=kmeans_palette,flicker", "metrics=paper", "dataset.num_videos=2", "dataset.num_frames=3",
                   "dataset.height=32", "dataset.width=48", "save_video=false",
                   env={"TORCH_HOME": str(tmp_path / "th"), "HYPERCON_WEIGHTS": str(tmp_path / "w")})
    assert proc.returncode == 0, proc.stderr
    console = proc.stdout + proc.stderr
    assert console.count("metric fid unavailable") == 1, console  # 2 jobs: shown once
    assert console.count("cpsnr unavailable") == 1  # 4 videos: shown once
    from experiments.report import report

    text, _ = report(tmp_path / "sweeps" / "s", "table1", "md", tmp_path / "rep")
    note = next(line for line in text.splitlines() if line.startswith("- unavailable: fid"))
    assert "not found" in note and "Put it at" not in note and "Source:" not in note


# ---- 19. Table 1 / Table 2 in one sweep each --------------------------------------------------------------

@pytest.mark.parametrize("experiment,methods", [("table1_style", "framewise,hypercon"),
                                                ("table2_inpaint", "framewise,hypercon,hypercon_median")])
def test_item19_one_sweep_per_table_with_per_method_settings(tmp_path, experiment, methods):
    model = "kmeans_palette" if experiment == "table1_style" else "opencv_inpaint"
    proc = run_cli("-m", f"+experiment={experiment}", f"paths.output_root={tmp_path}", "dataset=synthetic",
                   f"model={model}", "style=rain_princess", f"method={methods}", "metrics=none",
                   "dataset.num_videos=1", "dataset.num_frames=3", "dataset.height=32", "dataset.width=48",
                   "save_video=false", "method_settings.hypercon.window=3")
    assert proc.returncode == 0, proc.stderr
    provs = [read_json(p) for p in (tmp_path / "sweeps" / experiment).glob("*/provenance.json")]
    by_method = {p["config"]["method"]["name"]: p for p in provs}
    assert sorted(by_method) == sorted(methods.split(","))
    assert by_method["hypercon"]["method"]["axes"] == {"i": 2, "c": 3, "d": 1, "pool": "mean"}
    assert "num_inserted" not in by_method["framewise"]["config"]["method"]


def test_item19_unknown_method_setting_names_the_key(tmp_path):
    with pytest.raises(SettingError, match="method_settings.hypercon"):
        run(cfg_for(tmp_path, "+method_settings.hypercon.windw=3"), tmp_path / "run")


# ---- (item 2, the runner's part) a constant frame-wise reference is warned about -------------------------

def test_constant_frame_wise_reference_is_warned_about(tmp_path, monkeypatch, caplog):
    import torch

    import experiments.runner as runner

    build = runner.build_job

    def with_black_model(cfg, output_dir):  # as broken weights would: all black
        job = build(cfg, output_dir)
        job.reference_model = lambda frames, known: torch.zeros_like(frames)
        return job

    monkeypatch.setattr(runner, "build_job", with_black_model)
    run(cfg_for(tmp_path, "method=hypercon", *SMALL_HYPERCON, "dataset.num_videos=1"), tmp_path / "run")
    assert "frame-wise reference" in caplog.text and "'synth-000' is constant" in caplog.text
