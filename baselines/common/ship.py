"""Ship a trained checkpoint with the package: ``python -m baselines.common.ship CKPT --name NAME [--fp16]``.

Verifies ``CKPT``'s sidecar, optionally converts its floating tensors to float16, refuses a file over
:data:`MAX_BYTES` (16 MiB), writes ``NAME.pt`` + ``NAME.json`` (a new sidecar: the training record, the new
sha256, ``shipped_from``) into ``hypercon/weights/trained/`` (package data, so ``pip install`` carries it) and
registers ``NAME`` in ``hypercon/weights.json`` with ``tier: trained-here``. Then ``python -m hypercon.weights
status`` lists it and a component loads it by name (``load_trained("NAME")``). Commit both files and the
manifest change; nothing else in the repository may hold a checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

from baselines.common.sidecar import FORMAT, load_trained, sidecar_path, write_trained
from hypercon.component import TRAINED_HERE
from hypercon.io.atomic import atomic_write_bytes
from hypercon.weights import MANIFEST_PATH, TRAINED_DIR, WeightsError

LOG = logging.getLogger(__name__)
MAX_BYTES = 16 * 2**20
# sidecar keys that describe the file rather than the training (rewritten for the shipped file)
FILE_KEYS = ("file", "sha256", "tier", "torch", "format", "dtype")


class ShipError(WeightsError):
    """A checkpoint cannot be shipped (too large, bad name)."""


def manifest_entry_for(name: str, sidecar: dict) -> dict:
    """The ``hypercon/weights.json`` entry of a shipped checkpoint, from its new sidecar."""
    data = sidecar.get("data") or {}
    return {
        "role": f"trained here: {sidecar.get('recipe', '?')} on {data.get('dataset', '?')} "
                f"({len(sidecar.get('trained_on') or [])} sequence(s), {sidecar.get('steps')} steps)",
        "file": sidecar["file"], "sidecar": sidecar_path(sidecar["file"]).name, "tier": TRAINED_HERE,
        "sha256": sidecar["sha256"], "download": "bundled", "legacy_pickle": False,
        "format": f"{FORMAT}: torch dict {{'modules': {{name: state_dict}}}}, {sidecar['dtype']}",
        "licence": "trained in this project", "source": f"trained in this project (sidecar {name}.json)",
    }


def ship(checkpoint: str | Path, name: str, fp16: bool = False, dest_dir: Path = TRAINED_DIR,
         manifest_path: Path = MANIFEST_PATH, max_bytes: int = MAX_BYTES) -> Path:
    """Copy a verified trained checkpoint into ``dest_dir`` as ``name.pt`` (+ sidecar) and register it in
    ``manifest_path``. Returns the shipped file. Raises :class:`ShipError` (nothing written) when too large."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name):
        raise ShipError(f"ship: name {name!r} must be lower-case letters, digits and underscores")
    trained = load_trained(checkpoint)
    modules = {m: {k: (v.half() if fp16 and v.is_floating_point() else v) for k, v in sd.items()}
               for m, sd in trained.modules.items()}
    meta = {k: v for k, v in trained.sidecar.items() if k not in FILE_KEYS}
    meta.update(name=name, shipped_from={"file": str(trained.path), "sha256": trained.sidecar["sha256"]})
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".ship-") as tmp:
        staged = Path(tmp) / f"{name}.pt"
        write_trained(staged, modules, meta)
        size = staged.stat().st_size
        if size > max_bytes:
            raise ShipError(f"ship: {checkpoint} is {size / 2**20:.1f} MiB as {staged.name} (fp16={fp16}); the limit "
                            f"is {max_bytes / 2**20:.0f} MiB" + ("" if fp16 else ": try --fp16"))
        sidecar = json.loads(sidecar_path(staged).read_text())
        os.replace(staged, dest_dir / staged.name)
        os.replace(sidecar_path(staged), sidecar_path(dest_dir / staged.name))
    manifest = json.loads(Path(manifest_path).read_text())
    manifest["entries"][name] = manifest_entry_for(name, sidecar)
    atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    LOG.info("shipped %s as %s (%.2f MiB, sha256 %s); registered %r in %s", checkpoint, dest_dir / staged.name,
             size / 2**20, sidecar["sha256"], name, manifest_path)
    return dest_dir / staged.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.common.ship", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a trained checkpoint X.pt with its sidecar X.json")
    parser.add_argument("--name", required=True, help="manifest name and file stem, e.g. vcons_rain_princess")
    parser.add_argument("--fp16", action="store_true", help="store floating tensors as float16")
    parser.add_argument("--dest-dir", type=Path, default=TRAINED_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, default=MANIFEST_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        path = ship(args.checkpoint, args.name, args.fp16, args.dest_dir, args.manifest)
    except WeightsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"{args.name}: {path} (+ {sidecar_path(path).name}); commit both and {args.manifest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
