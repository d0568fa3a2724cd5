import math
import os

import numpy as np
import pytest

from experiments.provenance import config_hash, git_state, package_versions
from experiments.reference import ReferenceCache
from experiments.stats import mean_sem
from experiments.store import RunStore, atomic_write_bytes, atomic_write_json, read_json


def test_mean_sem_matches_scipy_and_drops_nan_inf():
    from scipy.stats import sem

    vals = [0.1, 0.4, 0.35, 0.2]
    out = mean_sem(vals + [float("nan"), None, float("inf")])
    assert out["n"] == 4 and out["n_inf"] == 1
    assert math.isclose(out["mean"], np.mean(vals))
    assert math.isclose(out["sem"], sem(vals))
    assert mean_sem([]) == {"mean": None, "sem": None, "n": 0, "n_inf": 0}
    assert mean_sem([2.0])["sem"] is None


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
