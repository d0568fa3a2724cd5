"""Compile and refresh the lock (``requirements/``), and measure what a refresh does to the golden numbers.

    python -m experiments.lock compile                 # re-resolve after editing pyproject.toml (keeps pins)
    python -m experiments.lock refresh                 # newest releases in a scratch venv: versions + golden drift
    python -m experiments.lock refresh --release opencv-python-headless --write   # lift a pin, adopt the result

The lock serves CPython 3.11 on Linux x86-64 (``TARGET``) and is written by uv (``pip install uv``):

* ``lock.txt``: every package of the harness and its ``test`` extra, pinned with hashes (PyPI's torch, the
  CUDA build: README command 1 on any Linux x86-64 host);
* ``lock-cpu.txt``: the same pins without torch, torchvision and the CUDA runtime packages, for the CPU-only
  form of command 1, which installs the CPU build of the same torch first from PyTorch's own index;
* ``lock-onnx.txt``: what the ``onnx`` extra adds, installed on top of either.

``requirements/constraints.txt`` holds versions kept back on purpose, each with its reason. ``refresh``
resolves the newest releases allowed by ``pyproject.toml`` and the constraints (less those named by
``--release``) into a scratch folder, installs them into a fresh virtual environment there, runs the golden
run (:mod:`experiments.golden`) in it and prints every changed version and every golden number's drift,
old → new. ``--write`` then copies the new files into ``requirements/``; commit them with the drift in the
message, and change the golden values only in a commit that says why.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name

from experiments.golden import GOLDEN_FILE, drift_rows, format_drift, load_golden
from hypercon.errors import EXIT_USER_ERROR, UserError, one_line
from hypercon.stack import REPO_ROOT, parse_lock

log = logging.getLogger("experiments.lock")

LOCK_DIR = REPO_ROOT / "requirements"
TARGET = ("--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")
COMPILE_COMMAND = "python -m experiments.lock compile"
#: packages of PyPI's CUDA build of torch, left out of lock-cpu.txt (the CPU build needs none of them)
CUDA_BUILD = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*)$")
_BLOCK_START = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def split_blocks(text: str) -> tuple[str, list[tuple[str, str]]]:
    """A uv/pip-compile lock → (its header comment, ``[(package, block text)]``): a block is a pin line with
    its hash continuation and ``# via`` lines."""
    header, blocks = [], []
    for line in text.splitlines(keepends=True):
        match = _BLOCK_START.match(line)
        if match:
            blocks.append([match.group(1).lower(), line])
        elif blocks:
            blocks[-1][1] += line
        else:
            header.append(line)
    return "".join(header), [(name, body) for name, body in blocks]


def derive(text: str, keep, header: str) -> str:
    """The blocks of a lock whose package ``keep(name)`` accepts, under a new header comment."""
    _, blocks = split_blocks(text)
    return header + "".join(body for name, body in blocks if keep(name))


def cpu_lock(lock_text: str) -> str:
    """``lock-cpu.txt`` from ``lock.txt``: every pin but PyPI's CUDA build of torch."""
    header = (f"# Written by `{COMPILE_COMMAND}` from lock.txt: the same pins without torch, torchvision and the\n"
              "# CUDA runtime packages. Install the CPU build of the locked torch first (README: CPU-only form).\n")
    return derive(lock_text, lambda name: not CUDA_BUILD.match(name), header)


def addon_lock(full_text: str, base_text: str, extra: str) -> str:
    """What an extra adds to the base lock (``lock-<extra>.txt``), from a lock compiled with the extra."""
    base = set(parse_lock(base_text))
    header = (f"# Written by `{COMPILE_COMMAND}`: what the `{extra}` extra adds to lock.txt (or lock-cpu.txt);\n"
              f"# install on top of it: pip install --require-hashes -r requirements/lock-{extra}.txt\n")
    return derive(full_text, lambda name: canonicalize_name(name) not in base, header)


def _uv(args: list[str]) -> None:
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"]
    try:
        subprocess.run([*command, *args], check=True, cwd=REPO_ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("uv is not installed: pip install uv (the lock is compiled with uv pip compile)") from None
    except subprocess.CalledProcessError as exc:
        if "No module named uv" in (exc.stderr or ""):
            raise UserError("uv is not installed: pip install uv (the lock is compiled with uv pip compile)") from None
        raise UserError(f"uv pip compile failed: {one_line(exc.stderr or exc)}") from None


def compile_locks(out_dir: Path, constraints: Path, upgrade: bool = False) -> dict[str, Path]:
    """Resolve the three lock files into ``out_dir`` (uv prefers the versions already in ``out_dir`` unless
    ``upgrade``); returns ``{name: path}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    common = ["pip", "compile", "pyproject.toml", "--generate-hashes", *TARGET, "-c", str(constraints),
              "--custom-compile-command", COMPILE_COMMAND, "--quiet", *(["--upgrade"] if upgrade else [])]
    base = out_dir / "lock.txt"
    _uv([*common, "--extra", "test", "-o", str(base)])
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "lock-onnx-full.txt"
        previous = out_dir / "lock-onnx.txt"
        if previous.is_file() and not upgrade:  # keep the base pins and the extra's own pins
            full.write_text(base.read_text() + previous.read_text())
        _uv([*common, "--extra", "test", "--extra", "onnx", "-c", str(base), "-o", str(full)])
        (out_dir / "lock-onnx.txt").write_text(addon_lock(full.read_text(), base.read_text(), "onnx"))
    (out_dir / "lock-cpu.txt").write_text(cpu_lock(base.read_text()))
    return {name: out_dir / name for name in ("lock.txt", "lock-cpu.txt", "lock-onnx.txt")}


def version_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """``"opencv-python-headless 5.0.0.93 -> 5.1.0.95"`` for every added, removed or changed pin."""
    return [f"{name} {old.get(name, '(none)')} -> {new.get(name, '(none)')}"
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def released_constraints(text: str, release: list[str]) -> str:
    """``constraints.txt`` without the pins of the ``release`` packages. The file is paragraphs separated by
    blank lines (a reason's comment, then its pins); a paragraph left without pins goes with them."""
    names = {canonicalize_name(n) for n in release}
    kept = []
    for paragraph in re.split(r"\n\s*\n", text.strip("\n")):
        lines = paragraph.splitlines()
        pins = [line for line in lines if _BLOCK_START.match(line)]
        left = [line for line in lines
                if not (_BLOCK_START.match(line) and canonicalize_name(line.split("==")[0]) in names)]
        if pins and not any(_BLOCK_START.match(line) for line in left):
            continue
        kept.append("\n".join(left))
    return "\n\n".join(kept) + "\n"


def scratch_golden(lock: Path, scratch: Path) -> dict:
    """Install ``lock`` into a fresh venv under ``scratch`` and run the golden run there (the checkout on
    ``sys.path``, nothing installed into it); returns its numbers."""
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    log.info("installing %s into %s (torch is large: minutes)", lock, venv)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(lock)], check=True)
    out = scratch / "golden.json"
    subprocess.run([str(python), "-m", "experiments.golden", "--json", str(out)], check=True, cwd=REPO_ROOT,
                   stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def refresh(release: list[str], write: bool, scratch: Path | None = None) -> str:
    """Re-resolve to the newest releases, measure in a scratch venv, report; ``write`` adopts the result."""
    scratch = Path(scratch or tempfile.mkdtemp(prefix="lock_refresh_"))
    scratch.mkdir(parents=True, exist_ok=True)
    constraints = scratch / "constraints.txt"
    constraints.write_text(released_constraints((LOCK_DIR / "constraints.txt").read_text(), release))
    new = compile_locks(scratch / "requirements", constraints, upgrade=True)
    changes = version_changes(parse_lock((LOCK_DIR / "lock.txt").read_text()), parse_lock(new["lock.txt"].read_text()))
    report = ["versions, lock.txt -> newest:", *(f"  {c}" for c in changes or ["(no change)"])]
    if changes:
        numbers = scratch_golden(new["lock.txt"], scratch)
        report.append(format_drift(drift_rows(load_golden(GOLDEN_FILE), numbers)))
    if write:
        for name, path in new.items():
            shutil.copyfile(path, LOCK_DIR / name)
        shutil.copyfile(constraints, LOCK_DIR / "constraints.txt")
        report.append(f"wrote {', '.join(new)} and constraints.txt to {LOCK_DIR}: commit them with this drift")
    report.append(f"scratch folder: {scratch}")
    return "\n".join(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.lock", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compile", help="re-resolve requirements/ after editing pyproject.toml (keeps current pins)")
    r = sub.add_parser("refresh", help="newest releases in a scratch venv: print version changes and golden drift")
    r.add_argument("--release", action="append", default=[], metavar="PACKAGE",
                   help="also lift this package's pin in requirements/constraints.txt (repeatable)")
    r.add_argument("--write", action="store_true", help="copy the new lock files into requirements/")
    r.add_argument("--scratch", help="scratch folder (default: a new temporary one, kept for inspection)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "compile":
            written = compile_locks(LOCK_DIR, LOCK_DIR / "constraints.txt")
            sys.stdout.write("wrote " + ", ".join(str(p) for p in written.values()) + "\n")
        else:
            sys.stdout.write(refresh(args.release, args.write, args.scratch) + "\n")
    except UserError as exc:
        sys.stderr.write(f"python -m experiments.lock: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
