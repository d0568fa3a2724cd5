"""RAFT: the original princeton-vl checkpoints (raft-things/-sintel/-kitti/-chairs.pth, raft-small.pth) load
into torchvision's network through the strict key conversion of ``hypercon/flow/raft.py``."""

from __future__ import annotations

import json

import pytest
import torch
from torchvision.models.optical_flow import raft_large, raft_small

import parity_states as ps
from hypercon.flow.raft import RAFTFlow, load_raft_state_dict, princeton_to_torchvision

# hand-written correspondences: one per renaming rule (princeton-vl core/*.py → torchvision raft.py)
PAIRS_SMALL = {
    "module.fnet.conv1.weight": "feature_encoder.convnormrelu.0.weight",
    "module.cnet.layer2.0.conv3.bias": "context_encoder.layer2.0.convnormrelu3.0.bias",
    "module.cnet.layer3.0.downsample.0.weight": "context_encoder.layer3.0.downsample.0.weight",
    "module.fnet.conv2.weight": "feature_encoder.conv.weight",
    "module.update_block.encoder.convc1.weight": "update_block.motion_encoder.convcorr1.0.weight",
    "module.update_block.encoder.convf2.bias": "update_block.motion_encoder.convflow2.0.bias",
    "module.update_block.encoder.conv.weight": "update_block.motion_encoder.conv.0.weight",
    "module.update_block.gru.convz.weight": "update_block.recurrent_block.convgru1.convz.weight",
    "module.update_block.flow_head.conv2.weight": "update_block.flow_head.conv2.weight",
}
PAIRS_LARGE = {
    "module.cnet.norm1.running_var": "context_encoder.convnormrelu.1.running_var",
    "module.cnet.layer1.1.norm2.weight": "context_encoder.layer1.1.convnormrelu2.1.weight",
    "module.cnet.layer2.0.downsample.1.running_mean": "context_encoder.layer2.0.downsample.1.running_mean",
    "module.update_block.encoder.convc2.weight": "update_block.motion_encoder.convcorr2.0.weight",
    "module.update_block.gru.convq2.weight": "update_block.recurrent_block.convgru2.convq.weight",
    "module.update_block.gru.convr1.bias": "update_block.recurrent_block.convgru1.convr.bias",
    "module.update_block.mask.0.weight": "mask_predictor.convrelu.0.weight",
    "module.update_block.mask.2.bias": "mask_predictor.conv.bias",
}


def test_raft_small_pth_loads_and_equals_torchvision_built_from_converted_keys():
    state = ps.raft_princeton_state()  # raft-small.pth format: module. keys, random weights
    assert all(k.startswith("module.") for k in state)
    net = load_raft_state_dict(state, "small")
    reference = raft_small(weights=None)
    reference.load_state_dict(princeton_to_torchvision(state), strict=True)
    loaded = net.state_dict()
    assert loaded.keys() == reference.state_dict().keys()
    assert all(torch.equal(loaded[k], v) for k, v in reference.state_dict().items())
    for old, new in PAIRS_SMALL.items():
        assert torch.equal(loaded[new], state[old]), (old, new)
    one, two = ps.raft_inputs()
    with torch.no_grad():
        assert torch.equal(net(one * 2 - 1, two * 2 - 1, num_flow_updates=2)[-1],
                           reference.eval()(one * 2 - 1, two * 2 - 1, num_flow_updates=2)[-1])


def test_raft_things_pth_loads_into_raft_large_with_its_norm_aliases():
    state = ps.raft_large_princeton_state()
    net = load_raft_state_dict(state, "large")
    loaded = net.state_dict()
    assert len(loaded) == len(raft_large(weights=None).state_dict()) == len(state) - 10  # 2 aliased norms × 5
    for old, new in PAIRS_LARGE.items():
        assert torch.equal(loaded[new], state[old]), (old, new)
    # the checkpoint stores the downsample norm twice; differing copies are refused
    bad = dict(state)
    bad["module.cnet.layer3.0.norm3.weight"] = bad["module.cnet.layer3.0.norm3.weight"] + 1
    with pytest.raises(ValueError, match=r"layer3\.0\.norm3\.weight is not the same tensor as .*downsample\.1"):
        load_raft_state_dict(bad, "large")


def test_princeton_conversion_is_strict():
    state = ps.raft_princeton_state()
    with pytest.raises(ValueError, match=r"'update_block\.extra\.weight' is not a princeton-vl/RAFT parameter"):
        princeton_to_torchvision({**state, "module.update_block.extra.weight": torch.zeros(1)}, "x.pth")
    missing = dict(state)
    missing.pop("module.update_block.gru.convq.bias")
    with pytest.raises(ValueError, match=r"missing \['update_block\.recurrent_block\.convgru1\.convq\.bias'\]"):
        princeton_to_torchvision(missing)
    wrong = {**state, "module.fnet.conv1.weight": torch.zeros(32, 3, 5, 5)}
    with pytest.raises(ValueError, match=r"wrong shapes \['feature_encoder\.convnormrelu\.0\.weight"):
        princeton_to_torchvision(wrong)
    with pytest.raises(ValueError, match="RAFT-small checkpoint but flow.size is 'large'; set flow.size=small"):
        load_raft_state_dict(state, "large")


def test_raft_flow_release_and_recorded_format(tmp_path, monkeypatch):
    from hypercon.weights import MissingWeightsError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError, match="raft-things.pth"):
        RAFTFlow(size="large", release="things", weights_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"flow.release: RAFT-small weights are released as \['things', 'torchvision'\]"):
        RAFTFlow(size="small", release="sintel")
    path = tmp_path / "raft-small.pth"
    torch.save(ps.raft_princeton_state(), path)
    manifest = tmp_path / "manifest.json"  # a stand-in entry, as tests register random weights
    manifest.write_text(json.dumps({"entries": {"raft_small_things": {"file": path.name, "sha256": None}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    flow = RAFTFlow(size="small", release="things", num_flow_updates=1, weights=str(path))
    assert flow.options()["checkpoint_format"] == "princeton" and flow.options()["release"] == "things"
