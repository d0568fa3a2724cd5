"""Issue 26 item 5: every cache entry is verified against the key it is used for, before use. An entry
holds its own key (:class:`hypercon.io.array_cache.ArrayCache`); another key's entry at this key's path
(camel's source motion or frame-wise reference copied over blackswan's) is a miss: a warning naming the
file, then it is recomputed."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

import experiments.hydra_setup  # noqa: F401
from experiments.runner import run
from hypercon.io.array_cache import ArrayCache

REPO = Path(__file__).resolve().parents[1]


def test_an_entry_copied_to_another_key_is_recomputed(tmp_path, caplog):
    for layout in ("array", "arrays"):
        cache = ArrayCache(tmp_path / layout, layout=layout)

        def value(x: float):
            arr = np.full((2, 3), x, np.float32)
            return arr if layout == "array" else {"a": arr}

        cache.get_or_compute("ds/camel/k1", lambda: value(1.0))
        cache.path("ds/blackswan/k2").parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache.path("ds/camel/k1"), cache.path("ds/blackswan/k2"))  # same shape, other key
        with caplog.at_level(logging.WARNING):
            got = cache.get_or_compute("ds/blackswan/k2", lambda: value(2.0))
        assert float((got if layout == "array" else got["a"]).max()) == 2.0
        assert str(cache.path("ds/blackswan/k2")) in caplog.text and "ds/camel/k1" in caplog.text
        assert ArrayCache(tmp_path / layout, layout=layout).load("ds/blackswan/k2") is not None  # replaced


def write_video(root: Path, seed: int) -> None:
    from datasets.synthetic import make_synthetic_video
    from hypercon.io.frames import write_frames

    write_frames(make_synthetic_video(seed=seed, num_frames=3, height=24, width=32).frames, root)


def test_swapped_source_motion_and_reference_entries_do_not_change_the_numbers(tmp_path, caplog):
    write_video(tmp_path / "videos" / "blackswan", 0)
    write_video(tmp_path / "videos" / "camel", 7)
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[
            "dataset=folder", f"dataset.root={tmp_path / 'videos'}", "method=hypercon", "method.num_inserted=1",
            "method.window=3", "save_video=false", f"paths.output_root={tmp_path}",
            f"paths.cache_dir={tmp_path / 'cache'}"])
    first = run(cfg, tmp_path / "a")
    for kind in ("source_motion", "reference"):
        mine, theirs = (next((tmp_path / "cache" / kind).rglob(f"{v}/*.npz")) for v in ("blackswan", "camel"))
        shutil.copyfile(theirs, mine)  # camel's valid entry, same shape, at blackswan's path
    with caplog.at_level(logging.WARNING):
        again = run(cfg, tmp_path / "b")
    assert caplog.text.count("was made for") == 2
    metrics = {r["video"]: r["metrics"] for r in first["videos"]}
    assert {r["video"]: r["metrics"] for r in again["videos"]} == metrics
    assert {"ewarp", "fidelity_psnr"} <= set(metrics["blackswan"])
