import math
import os

import numpy as np
import pytest

from hypercon.provenance import config_hash, git_state, package_versions
from experiments.reference import ReferenceCache
from metrics.reduce import aggregate
from experiments.store import RunStore, atomic_write_bytes, atomic_write_json, read_json


def test_aggregate_matches_scipy_drops_nan_and_clips_inf_like_vie():
    from scipy.stats import sem

    vals = [0.1, 0.4, 0.35, 0.2]
    out = aggregate(vals + [float("nan"), None])
    assert out["n"] == 4
    assert math.isclose(out["mean"], np.mean(vals))
    assert math.isclose(out["sem"], sem(vals))
    clipped = aggregate([20.0, 30.0, float("inf")], clip_inf=True)  # +inf → largest finite (VIE's table)
    assert clipped["n"] == 3 and math.isclose(clipped["mean"], 80.0 / 3)
    assert aggregate([]) == {"mean": None, "sem": None, "n": 0}
    assert aggregate([2.0])["sem"] is None


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "a" / "results.json"
    atomic_write_json(target, {"x": 1.0, "inf": float("inf")})
    assert read_json(target) == {"x": 1.0, "inf": float("inf")}

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"half")
    monkeypatch.undo()
    assert read_json(target)["x"] == 1.0  # old content intact
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]  # no temp left behind


def test_record_completeness_depends_on_config_hash(tmp_path):
    store = RunStore(tmp_path)
    assert not store.is_complete("v", "abc")
    store.save_record("v", {"complete": True, "config_hash": "abc", "metrics": {}})
    assert store.is_complete("v", "abc")
    assert not store.is_complete("v", "other")
    store.record_path("w").parent.mkdir(parents=True)
    store.record_path("w").write_text("{ truncated")
    assert not store.is_complete("w", "abc")


def test_features_roundtrip(tmp_path):
    store = RunStore(tmp_path)
    arr = np.random.rand(5, 7)
    store.save_features("v", "fid", {"pred": arr})
    np.testing.assert_array_equal(store.load_features("v", "fid")["pred"], arr)


def test_reference_cache_computes_once(tmp_path):
    import torch

    calls = []

    def compute():
        calls.append(1)
        return torch.rand(2, 3, 4, 5)

    cache = ReferenceCache(tmp_path)
    a = cache.get_or_compute("ds/v/abc", compute)
    b = cache.get_or_compute("ds/v/abc", compute)
    assert len(calls) == 1
    torch.testing.assert_close(a, b, atol=1 / 255, rtol=0)


def test_provenance_pieces():
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert "torch" in package_versions()
    assert set(git_state()) == {"commit", "dirty"}
