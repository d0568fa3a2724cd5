"""The one frames digest and the one on-disk array cache (source flows, frame-wise references, FID)."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import torch

from hypercon.io import array_cache
from hypercon.io.array_cache import ArrayCache, stack_folder
from hypercon.io.digest import frames_digest, record_digest


def test_frames_digest_covers_shape_dtype_and_values_not_layout():
    x = torch.rand(2, 3, 4, 5)
    assert frames_digest(x) == frames_digest(x.clone()) and len(frames_digest(x)) == 64
    assert frames_digest(x.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)) == frames_digest(x)
    assert frames_digest(x.reshape(2, 3, 5, 4)) != frames_digest(x)  # same bytes, another shape
    assert frames_digest(x.double()) != frames_digest(x)
    y = x.clone()
    y[1, 2, 3, 4] = torch.nextafter(y[1, 2, 3, 4], torch.tensor(2.0))  # one ulp
    assert frames_digest(y) != frames_digest(x)
    assert frames_digest(torch.zeros(3, dtype=torch.bool)) != frames_digest(torch.zeros(3, dtype=torch.uint8))
    assert record_digest({"a": 1, "b": [2]}) == record_digest({"b": [2], "a": 1}) != record_digest({"a": 2})


@pytest.mark.parametrize("layout", ["array", "arrays"])
def test_array_cache_computes_once_and_replaces_a_damaged_entry(tmp_path, layout, caplog):
    value = np.arange(12, dtype=np.float32).reshape(3, 4)
    calls = []

    def compute():
        calls.append(1)
        return value if layout == "array" else {"a": value, "b": value[:1].astype(np.int64)}

    cache = ArrayCache(tmp_path, layout=layout)
    first = cache.get_or_compute("set/vid eo/../x", compute)
    again = ArrayCache(tmp_path, layout=layout).get_or_compute("set/vid eo/../x", compute)
    assert len(calls) == 1
    path = tmp_path / stack_folder() / "set" / "vid_eo" / "x.npz"
    assert cache.path("set/vid eo/../x") == path and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    for got in (first, again):
        np.testing.assert_array_equal(got if layout == "array" else got["a"], value)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated by a killed job
    with caplog.at_level(logging.WARNING):
        third = cache.get_or_compute("set/vid eo/../x", compute)
    assert len(calls) == 2 and "unreadable" in caplog.text and str(path) in caplog.text
    np.testing.assert_array_equal(third if layout == "array" else third["a"], value)
    assert cache.load("set/vid eo/../x") is not None  # replaced by a complete entry


def test_an_entry_of_another_numerical_stack_is_never_read(tmp_path, monkeypatch):
    cache = ArrayCache(tmp_path)
    cache.save("flow/bear", np.zeros(3))
    assert stack_folder().startswith("stack-") and cache.path("flow/bear").parent.parent.name == stack_folder()
    stack_folder.cache_clear()
    monkeypatch.setattr(array_cache, "stack_versions", lambda: {"opencv-python-headless": "5.1.0.95"})
    try:
        assert cache.load("flow/bear") is None  # computed with another opencv: a miss, not a hit
        np.testing.assert_array_equal(cache.get_or_compute("flow/bear", lambda: np.ones(3)), np.ones(3))
    finally:
        monkeypatch.undo()
        stack_folder.cache_clear()
    np.testing.assert_array_equal(cache.load("flow/bear"), np.zeros(3))  # this stack's entry is untouched


def test_array_cache_decode_rejection_is_a_miss_and_layouts_are_checked(tmp_path):
    cache = ArrayCache(tmp_path, layout="arrays")
    cache.save("k", {"a": np.zeros(2)})
    decoded = cache.get_or_compute("k", lambda: {"b": np.ones(2)}, decode=lambda arrays: arrays["b"])  # KeyError
    np.testing.assert_array_equal(decoded, np.ones(2))
    with pytest.raises(TypeError, match="dict of arrays"):
        cache.save("k", np.zeros(2))
    with pytest.raises(ValueError, match="reserved"):
        cache.save("k", {"__key__": np.zeros(2)})
    assert ArrayCache(tmp_path, layout="array").load("k") is None  # another layout: a miss
    with pytest.raises(ValueError, match="empty key"):
        cache.path("/../")
    assert not any(name.endswith(".tmp.npz") for _, _, names in os.walk(tmp_path) for name in names)
