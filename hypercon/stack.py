"""The numerical stack: which versions of the packages that compute a number are installed, against the lock.

The lock (``requirements/lock.txt``, compiled by ``python -m experiments.lock compile``) pins every package
exactly; under it the default run reproduces its golden values to 1e-9 relative. Any other version of a
package in :data:`STACK` may move a number (opencv 5.1 moved DIS flow by 6e-5 relative), so results record
the installed stack, ``python -m hypercon env`` prints it against the lock, and tables note a mix.

Versions are compared as written in the installed distribution's metadata (PEP 440 normalised, local label
included): PyPI's torch reports ``2.14.1``, PyTorch's CPU build ``2.14.1+cpu``, a different binary that is
reported as a difference, not assumed to give the same digits.
"""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (hypercon/ sits at its root)
LOCK_FILE = REPO_ROOT / "requirements" / "lock.txt"
#: the packages whose version can move a number, in the order ``python -m hypercon env`` lists them
STACK = ("torch", "torchvision", "numpy", "scipy", "opencv-python-headless", "scikit-image", "pillow", "av",
         "lpips", "pytorch-fid")
NOT_INSTALLED = "not installed"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def parse_lock(text: str) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a pip requirements lock (hash and
    comment lines skipped). ValueError naming the line for a requirement that is not an exact pin."""
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "--")):
            continue
        match = _PIN.match(stripped)
        if match is None:
            raise ValueError(f"lock line {number} is not an exact pin (name==version): {stripped!r}")
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """The pins of a lock file; FileNotFoundError naming it when it is absent (an install outside a checkout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no lock file at {path} (an install outside a checkout of hypercon-bench?)")
    return parse_lock(path.read_text())


def installed_version(name: str) -> str:
    """The installed version of a distribution, or ``"not installed"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def same_version(installed: str, locked: str | None) -> bool:
    """Whether an installed version is the locked one (PEP 440 equality, local label included)."""
    if locked is None or installed == NOT_INSTALLED:
        return installed == NOT_INSTALLED and locked is None
    try:
        return Version(installed) == Version(locked)
    except InvalidVersion:
        return installed == locked


def stack_versions(names: tuple[str, ...] = STACK) -> dict[str, str]:
    """``{package: installed version}`` of the numerical stack."""
    return {name: installed_version(name) for name in names}


def stack_drift(installed: dict[str, str], locked: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{package: (installed, locked)}`` for every package of ``installed`` whose version is not the
    locked one (a package missing from the lock is locked as ``"not locked"``)."""
    drift = {}
    for name, version in installed.items():
        pin = locked.get(canonicalize_name(name))
        if not same_version(version, pin):
            drift[name] = (version, pin or "not locked")
    return drift


def describe_drift(drift: dict[str, tuple[str, str]]) -> str:
    """``"opencv-python-headless 5.1.0.95 (locked 5.0.0.93), torch 2.14.1+cpu (locked 2.14.1)"``."""
    return ", ".join(f"{name} {have} (locked {want})" for name, (have, want) in drift.items())


def lock_state(path: Path = LOCK_FILE) -> dict:
    """What a result records of the lock: its file and sha256 and the installed stack's drift from it
    (``{"file": None, ...}`` outside a checkout)."""
    path = Path(path)
    if not path.is_file():
        return {"file": None, "sha256": None, "drift": None}
    drift = stack_drift(stack_versions(), read_lock(path))
    return {"file": path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "drift": {name: {"installed": have, "locked": want} for name, (have, want) in drift.items()}}

