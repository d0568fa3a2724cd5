"""Upstream parity of the paper-tier ports (issue 18): each port, loaded through the project's own loader
with a seeded random state dict in the UPSTREAM checkpoint format (:mod:`parity_states`), reproduces the
output that upstream's code computed on the same weights and input (``tests/fixtures/parity/PORT.json``;
how it was computed, upstream's commit and the tolerance: ``PORT.sidecar.json``, written by
``tests/fixtures/parity/make_fixtures.py`` in a scratch environment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import parity_states as ps

FIXTURES = Path(__file__).parent / "fixtures" / "parity"


def _sidecar(port: str) -> dict:
    return json.loads((FIXTURES / f"{port}.sidecar.json").read_text())


def assert_matches_upstream(port: str, outputs: dict[str, torch.Tensor], state: dict) -> dict[str, float]:
    """Compare ``outputs`` with the fixture at the sidecar's tolerance; returns the max |difference|."""
    sidecar = _sidecar(port)
    assert ps.state_digest(state) == sidecar["state_digest"], f"{port}: seeded state differs from upstream's run"
    expected = json.loads((FIXTURES / f"{port}.json").read_text())
    assert sorted(outputs) == sorted(expected), f"{port}: outputs {sorted(outputs)} vs fixture {sorted(expected)}"
    diffs = {}
    for name, want in expected.items():
        got = outputs[name].detach().double()
        assert list(got.shape) == want["shape"], f"{port}.{name}: shape {list(got.shape)} vs upstream {want['shape']}"
        tol = sidecar["tolerance_max_abs"][name]
        sampled = got.flatten()[ps.summary_indices(got.numel())]
        diffs[name] = float((sampled - torch.tensor(want["values"], dtype=torch.float64)).abs().max())
        assert diffs[name] <= tol, f"{port}.{name}: max |port − upstream| = {diffs[name]:.3g} > {tol:g}"
        assert abs(float(got.abs().mean()) - want["abs_mean"]) <= tol, f"{port}.{name}: mean |x| differs"
    return diffs


def test_superslomo_matches_video_to_slomo():
    """Super SloMo at t = 1/4, 1/2, 3/4: flowComp's flows and the blended frames (mean colour outside).
    Fails with the decoder's former ``align_corners=True`` upsampling or border padding of the frames."""
    assert_matches_upstream("superslomo", ps.slomo_port_outputs(), ps.slomo_checkpoint())


def test_seeded_states_are_bit_identical_and_digests_see_one_bit():
    first, second = ps.fns_state(), ps.fns_state()
    assert ps.state_digest(first) == ps.state_digest(second) == _sidecar("fns")["state_digest"]
    second["conv1.conv2d.bias"][0] = torch.nextafter(second["conv1.conv2d.bias"][0], torch.tensor(1.0))
    assert ps.state_digest(second)["values"] != ps.state_digest(first)["values"]


def test_fast_neural_style_matches_stylize():
    """pytorch/examples ``stylize`` on a published-format state dict (stale InstanceNorm stats included)."""
    assert_matches_upstream("fns", ps.fns_port_outputs(), ps.fns_state())


def test_pwcnet_matches_estimate():
    """sniklaus ``estimate`` (BGR, resize to 128×128 and back) on a ``module*``-spelled state dict."""
    assert_matches_upstream("pwcnet", ps.pwc_port_outputs(), ps.pwc_state())


def test_contextual_attention_matches_the_port_generator():
    """daa233 ``Generator`` as ``test_tf_model.py`` runs it, from a ``netG.``-keyed (TF-converted) state."""
    assert_matches_upstream("cxtattn", ps.ca_port_outputs(), ps.ca_state())


def test_i3d_matches_upstream_up_to_mixed_5c():
    """piergiaj ``InceptionI3d`` features at VLPIPS's four endpoints (Mixed_5c: VFID's input)."""
    assert_matches_upstream("i3d", ps.i3d_port_outputs(), ps.i3d_state())


def test_torchvision_raft_matches_torchvision():
    """``raft_flow`` (the [0,1] → [-1,1] preset, padding) equals torchvision's own ``OpticalFlow`` preset run."""
    assert_matches_upstream("raft", ps.raft_port_outputs(ps.raft_torchvision_state()), ps.raft_torchvision_state())


def test_raft_small_pth_matches_princeton_vl_raft():
    """A raft-small.pth-format state (``module.`` keys) converted to torchvision's network reproduces
    princeton-vl's own ``RAFT`` (inputs in [0,255]) exactly."""
    assert_matches_upstream("raft_princeton", ps.raft_port_outputs(ps.raft_princeton_state()), ps.raft_princeton_state())
