"""Weights registry: manifest, lookup order, sha256 / prefix / lock checks, safe loading, CLI, download."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import pickle
import re
import urllib.error
import zipfile
from pathlib import Path

import pytest
import torch

import hypercon.weights.download as dl
import hypercon.weights.registry as reg
from hypercon.weights import (
    MissingWeightsError,
    WeightsError,
    WeightsHashError,
    ResolvedWeights,
    load_checkpoint,
    load_manifest,
    record_weights,
    require_weights,
    resolve_weights,
)
from hypercon.weights.__main__ import main as cli_main

REQUIRED = ["pwcnet", "raft_small", "raft_large", "superslomo", "fst_mosaic", "fst_candy", "fst_rain_princess",
            "fst_udnie", "cxtattn", "fid_inception", "lpips_alex_trunk", "lpips_vgg_trunk", "lpips_squeeze_trunk",
            "i3d_rgb_imagenet", "vinet", "lai_vcons", "vgg19"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Isolated folders: weights dir, hub cache, a test manifest (entries added by ``register``)."""
    wdir, hub = tmp_path / "weights", tmp_path / "hub"
    wdir.mkdir()
    hub.mkdir()
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: hub)
    monkeypatch.setattr(dl, "hub_checkpoints_dir", lambda: hub)
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_LOCK", raising=False)
    manifest = tmp_path / "manifest.json"
    entries: dict[str, dict] = {}

    def register(name: str, **fields) -> None:
        entries[name] = {"url": "https://example.invalid/" + fields.get("file", name), **fields}
        manifest.write_text(json.dumps({"entries": entries}))
        monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))

    return argparse.Namespace(wdir=wdir, hub=hub, register=register)


def _save(obj, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_lists_every_required_name_with_source():
    entries = load_manifest()
    for name in REQUIRED + ["cyclegan_monet", "lai_vcons_opts"]:
        assert name in entries, name
        assert entries[name].file and (entries[name].url or entries[name].source)
    # torch.hub convention: the hex after the last '-' in the file name is the published sha256 prefix
    for e in entries.values():
        m = re.search(r"-([a-f0-9]{8,})\.", e.file)
        if m:
            assert e.sha256_prefix == m.group(1), e.name
    assert entries["superslomo"].legacy_pickle and entries["lai_vcons_opts"].legacy_pickle
    assert not entries["i3d_rgb_imagenet"].legacy_pickle


def test_missing_file_error_names_file_place_and_url(env):
    env.register("thing", file="thing.pth", sha256=None)
    with pytest.raises(MissingWeightsError) as exc:
        resolve_weights("thing", weights_dir=env.wdir)
    msg = str(exc.value)
    assert "thing.pth" in msg and "https://example.invalid/thing.pth" in msg
    assert str(env.wdir / "thing.pth") in msg and "paths.weights_dir" in msg and "HYPERCON_WEIGHTS" in msg
    with pytest.raises(MissingWeightsError, match="explicit path"):
        resolve_weights("thing", path=env.wdir / "nope.pth")
    with pytest.raises(WeightsError, match="unknown weights name"):
        resolve_weights("no_such_entry")


def test_only_test_manifest_entries_are_stand_ins(env):
    env.register("net", file="net.pth", tier="paper", stand_in=False)  # a file cannot declare itself real
    entries = load_manifest()
    assert entries["net"].stand_in and entries["net"].tier == "paper"
    assert not any(e.stand_in for n, e in entries.items() if n != "net")
    builtin = ResolvedWeights("lai_vcons", env.wdir / "x.pth", "0" * 64, True, entries["lai_vcons"])
    assert builtin.tier == "paper" and "tier" not in builtin.record()


def test_registered_standin_resolves_verified_and_loads(env):
    digest = _save({"w": torch.arange(3.0)}, env.wdir / "net.pth")
    env.register("net", file="net.pth", sha256=digest)
    res = resolve_weights("net", weights_dir=env.wdir)
    assert res.verified and res.verified_by == "sha256" and res.sha256 == digest
    # an entry of the test manifest is a stand-in: tier test whatever it declares, and its record says so
    assert res.entry.stand_in and res.tier == "test"
    assert res.record() == {"file": str(env.wdir / "net.pth"), "sha256": digest, "tier": "test"}
    torch.testing.assert_close(load_checkpoint(res)["w"], torch.arange(3.0))


def test_wrong_hash_is_refused_with_both_digests(env):
    digest = _save({"w": torch.zeros(2)}, env.wdir / "net.pth")
    env.register("net", file="net.pth", sha256="0" * 64)
    with pytest.raises(WeightsHashError) as exc:
        resolve_weights("net", weights_dir=env.wdir)
    assert digest in str(exc.value) and "0" * 64 in str(exc.value) and "net.pth" in str(exc.value)


def test_published_prefix_is_checked(env):
    digest = _save({"w": torch.ones(2)}, env.hub / "net-abc.pth")
    env.register("net", file="net-abc.pth", sha256_prefix=digest[:8])
    res = resolve_weights("net")
    assert res.verified and res.verified_by == "sha256_prefix" and res.found_in == "torch hub cache"
    env.register("net", file="net-abc.pth", sha256_prefix="ffffffff" if digest[:8] != "ffffffff" else "00000000")
    with pytest.raises(WeightsHashError, match=digest):
        resolve_weights("net")


def test_lookup_order_explicit_then_dir_then_env_then_hub(env, tmp_path, monkeypatch):
    env.register("net", file="net.pth", aliases=["sub/net_alias.pth"])
    for where in ("explicit", "envdir", "hub"):
        _save({"where": torch.tensor([len(where)])}, tmp_path / where / "net.pth")
    _save({"w": torch.zeros(1)}, env.wdir / "sub" / "net_alias.pth")
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.setenv("HYPERCON_WEIGHTS", str(tmp_path / "envdir"))
    assert resolve_weights("net", path=tmp_path / "explicit" / "net.pth", weights_dir=env.wdir).found_in == \
        "explicit path"
    assert resolve_weights("net", path=tmp_path / "explicit").path == tmp_path / "explicit" / "net.pth"
    assert resolve_weights("net", weights_dir=env.wdir).path == env.wdir / "sub" / "net_alias.pth"
    assert resolve_weights("net").path == tmp_path / "envdir" / "net.pth"
    monkeypatch.delenv("HYPERCON_WEIGHTS")
    assert resolve_weights("net").path == tmp_path / "hub" / "net.pth"


def test_unverified_then_recorded_in_lock_file(env, caplog):
    path = env.wdir / "net.pth"
    digest = _save({"w": torch.ones(1)}, path)
    env.register("net", file="net.pth", sha256=None)
    with caplog.at_level("WARNING"):
        res = resolve_weights("net", weights_dir=env.wdir)
    assert not res.verified and "unverified" in caplog.text
    status = {r.name: r for r in reg.weights_status(env.wdir)}
    assert status["net"].verified == "unverified (no published hash)"
    assert cli_main(["record", "net", "--weights-dir", str(env.wdir)]) == 0
    lock = json.loads((env.wdir / "hypercon-weights.lock.json").read_text())
    assert lock["entries"]["net"]["sha256"] == digest
    res = resolve_weights("net", weights_dir=env.wdir)
    assert res.verified and res.verified_by == "lock"
    _save({"w": torch.zeros(5)}, path)  # the file changed after it was recorded
    with pytest.raises(WeightsHashError, match="lock file"):
        resolve_weights("net", weights_dir=env.wdir)


def test_legacy_pickle_loads_only_its_formats_types(env):
    ckpt = {"state_dictFC": {"w": torch.ones(1)}, "timestamp": datetime.datetime(2018, 1, 1)}
    path = env.wdir / "legacy.ckpt"
    digest = _save(ckpt, path)
    env.register("plain", file="legacy.ckpt", sha256=digest)  # a plain state dict: datetime is not admitted
    with pytest.raises(WeightsError, match=r"refused by the safe loader \(unsupported global datetime\.datetime\)"):
        load_checkpoint(resolve_weights("plain", weights_dir=env.wdir))
    env.register("legacy", file="legacy.ckpt", sha256=None, legacy_pickle=True, pickle_format="superslomo")
    with pytest.raises(WeightsError, match="--trust-pickle"):
        record_weights("legacy", env.wdir)
    record_weights("legacy", env.wdir, trust_pickle=True)
    out = load_checkpoint(resolve_weights("legacy", weights_dir=env.wdir))
    assert out["timestamp"].year == 2018


@pytest.mark.parametrize("protocol", [0, 2])
def test_python2_style_options_pickle(env, protocol):
    path = env.wdir / "opts.pth"
    path.write_bytes(pickle.dumps(argparse.Namespace(model="TransformNet", nf=32), protocol=protocol))
    env.register("opts", file="opts.pth", sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                 legacy_pickle=True, format="python_pickle", pickle_format="argparse_namespace")
    opts = load_checkpoint(resolve_weights("opts", weights_dir=env.wdir))
    assert opts.model == "TransformNet" and opts.nf == 32


def test_require_weights_lists_all_missing_at_once(env):
    digest = _save({"w": torch.ones(1)}, env.wdir / "a.pth")
    env.register("a", file="a.pth", sha256=digest)
    env.register("b", file="b.pth")
    env.register("c", file="c.pth")
    assert set(require_weights(["a"], env.wdir)) == {"a"}
    with pytest.raises(MissingWeightsError) as exc:
        require_weights(["a", "b", "c"], env.wdir)
    assert "2 pretrained file(s) missing" in str(exc.value) and "b.pth" in str(exc.value) and "c.pth" in str(exc.value)


class _Response(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_fails_fast_without_network(env, monkeypatch):
    env.register("net", file="net.pth", download="direct")

    def refuse(url, timeout):
        assert timeout <= 10
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(dl.urllib.request, "urlopen", refuse)
    with pytest.raises(dl.DownloadError, match="no internet"):
        dl.download_weights(["net"], env.wdir)
    assert cli_main(["download", "net", "--weights-dir", str(env.wdir)]) == 2  # an expected error: one line, exit status 2
    env.register("manual", file="m.pth", download="manual")
    with pytest.raises(dl.DownloadError, match="cannot be downloaded automatically"):
        dl.download_weights(["manual"], env.wdir)


def test_download_checks_hash_and_extracts_archive(env, monkeypatch):
    payload = b"weights-bytes"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("saved_models/net.pth", payload)
    blobs = {"https://example.invalid/net.pth": payload, "https://example.invalid/zip": buf.getvalue()}
    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url, timeout: _Response(blobs[url]))
    good = hashlib.sha256(payload).hexdigest()
    env.register("net", file="net.pth", sha256=good)
    assert dl.download_weights(["net"], env.wdir)["net"].read_bytes() == payload
    env.register("bad", file="net.pth", url="https://example.invalid/net.pth", sha256="1" * 64)
    with pytest.raises(dl.DownloadError, match="rejected"):
        dl.download_entry(load_manifest()["bad"], env.hub)
    assert not (env.hub / "net.pth").exists() and list(env.hub.iterdir()) == []
    env.register("arc", file="arc.pth", url="https://example.invalid/zip", download="archive",
                 archive_member="saved_models/net.pth", sha256_prefix=good[:8])
    assert dl.download_weights(["arc"], env.wdir)["arc"].read_bytes() == payload


def test_status_cli_prints_table(env, capsys):
    digest = _save({"w": torch.ones(1)}, env.wdir / "net.pth")
    env.register("net", file="net.pth", sha256=digest, role="test net")
    assert cli_main(["status", "--weights-dir", str(env.wdir)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("net "))
    assert "verified (sha256)" in row and "weights dir" in row
    assert "lpips_alex_trunk" in out and "missing" in out
    assert cli_main(["status", "--verbose", "--weights-dir", str(env.wdir), "net"]) == 0
    verbose = capsys.readouterr().out
    assert "role: test net" in verbose and f"path: {env.wdir / 'net.pth'}" in verbose
