"""Middlebury .flo reading/writing: byte layout, unknown pixels, round-trips, clear errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from hypercon.io.flo import flo_valid, flow_tensor_to_hw2, hw2_to_tensor, read_flo, write_flo


def test_read_hand_built_file(tmp_path):
    # tag, width=3, height=2, then (u, v) per pixel row-major: pixel (row r, col c) = (10r + c, -(10r + c))
    values = [v for r in range(2) for c in range(3) for v in (10 * r + c, -(10 * r + c))]
    path = tmp_path / "hand.flo"
    path.write_bytes(struct.pack("<f", 202021.25) + struct.pack("<ii", 3, 2) + struct.pack(f"<{len(values)}f", *values))
    flow = read_flo(path)
    assert flow.shape == (2, 3, 2) and flow.dtype == np.float32
    assert flow[1, 2, 0] == 12 and flow[1, 2, 1] == -12 and flow[0, 1, 0] == 1
    assert path.read_bytes()[:4] == b"PIEH"


def test_round_trip_keeps_values_and_unknown(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.normal(scale=5, size=(5, 7, 2)).astype(np.float32)
    flow[1, 2] = np.nan
    flow[3, 4, 1] = np.inf
    write_flo(tmp_path / "a.flo", flow)
    back = read_flo(tmp_path / "a.flo")
    valid = flo_valid(back)
    assert not valid[1, 2] and not valid[3, 4] and valid.sum() == 5 * 7 - 2
    assert np.isnan(back[3, 4]).all()  # a pixel with one unknown component is unknown as a whole
    np.testing.assert_array_equal(back[valid], flow[valid])
    raw = np.frombuffer((tmp_path / "a.flo").read_bytes()[12:], dtype="<f4").reshape(5, 7, 2)
    assert (raw[1, 2] == 1e10).all()  # written the way Middlebury marks unknown flow


def test_large_values_read_as_unknown(tmp_path):
    path = tmp_path / "u.flo"
    path.write_bytes(struct.pack("<f", 202021.25) + struct.pack("<ii", 2, 1) + struct.pack("<4f", 1.5, 2e9, 0.5, -0.25))
    flow = read_flo(path)
    assert np.isnan(flow[0, 0]).all()
    np.testing.assert_array_equal(flow[0, 1], [0.5, -0.25])


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "bad.flo"
    path.write_bytes(struct.pack("<f", 1.0) + struct.pack("<ii", 1, 1) + struct.pack("<2f", 0, 0))
    with pytest.raises(ValueError, match=r"bad\.flo.*magic"):
        read_flo(path)


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "short.flo"
    path.write_bytes(struct.pack("<f", 202021.25) + struct.pack("<ii", 4, 4) + struct.pack("<3f", 0, 0, 0))
    with pytest.raises(ValueError, match=r"short\.flo.*bytes"):
        read_flo(path)
    with pytest.raises(ValueError, match="header"):
        (tmp_path / "tiny.flo").write_bytes(b"PI")
        read_flo(tmp_path / "tiny.flo")


def test_write_rejects_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"x\.flo.*\[H,W,2\]"):
        write_flo(tmp_path / "x.flo", np.zeros((2, 4, 5), np.float32))


def test_tensor_helpers_round_trip():
    flow = torch.randn(1, 2, 4, 6)
    hw2 = flow_tensor_to_hw2(flow)
    assert hw2.shape == (4, 6, 2)
    assert hw2[2, 3, 0] == flow[0, 0, 2, 3] and hw2[2, 3, 1] == flow[0, 1, 2, 3]
    torch.testing.assert_close(hw2_to_tensor(hw2), flow)
    with pytest.raises(ValueError):
        flow_tensor_to_hw2(torch.zeros(2, 2, 4, 6))


def test_reads_middlebury_ground_truth(shared_dir):
    flow = read_flo(shared_dir / "data/middlebury-flow/RubberWhale/flow10.flo")
    assert flow.shape == (388, 584, 2)
    valid = flo_valid(flow)
    assert 0.5 < valid.mean() < 1.0  # RubberWhale has unknown (occluded) pixels
    assert np.abs(flow[valid]).max() < 20
