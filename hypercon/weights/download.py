"""Download manifest entries (``python -m hypercon.weights download [NAMES]``), for machines with internet.

Only this module touches the network, and only when asked from the command line; components never call it.
Each file is streamed to a temporary file beside its target (tqdm progress bar), its sha256 checked against
the manifest, then moved into place atomically. Zip archives (``download: archive``) are fetched once and
the member is extracted. Entries marked ``download: manual`` (Google Drive and dead hosts) are reported with
their source instead. A short connection timeout makes an offline machine fail fast with a clear message.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from hypercon.weights.manifest import ENV_DIR, WeightsEntry, WeightsError, load_manifest, sha256_of
from hypercon.weights.registry import check_digest, hub_checkpoints_dir

LOG = logging.getLogger(__name__)


class DownloadError(WeightsError):
    """A download failed (no network, HTTP error, manual-only entry, hash mismatch)."""


def download_target_dir(weights_dir: str | Path | None = None) -> Path:
    """Where downloads go: the weights folder (argument, then ``$HYPERCON_WEIGHTS``), else the hub cache."""
    base = weights_dir or os.environ.get(ENV_DIR)
    return Path(base).expanduser() if base else hub_checkpoints_dir()


def _fetch(url: str, dest: Path, timeout: float, label: str) -> None:
    """Stream ``url`` into ``dest`` with a progress bar; raises DownloadError naming the URL."""
    from tqdm import tqdm

    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - manifest URLs only
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(f"download of {label} from {url} failed: {exc}. This machine may have no internet "
                            f"access: fetch the file elsewhere and put it in the weights folder "
                            f"(paths.weights_dir / ${ENV_DIR}).") from exc
    with response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=label) as bar:
            while block := response.read(1 << 20):
                out.write(block)
                bar.update(len(block))


def download_entry(entry: WeightsEntry, weights_dir: str | Path | None = None, timeout: float = 10.0,
                   overwrite: bool = False) -> Path:
    """Download one entry into :func:`download_target_dir`; returns the final path.

    Raises:
        DownloadError: manual-only entry, network/HTTP failure, or a digest mismatch (the file is discarded).
    """
    if entry.download == "bundled":
        raise DownloadError(f"weights {entry.name!r} ({entry.file}) was trained in this project and ships with the "
                            f"package (hypercon/weights/trained/); there is nothing to download")
    if entry.download == "manual" or not entry.url:
        raise DownloadError(f"weights {entry.name!r} ({entry.file}) cannot be downloaded automatically; get it "
                            f"from {entry.url or entry.source} and put it in the weights folder "
                            f"(paths.weights_dir / ${ENV_DIR}).")
    target = download_target_dir(weights_dir) / entry.file
    if target.is_file() and not overwrite:
        LOG.info("weights %r already present at %s", entry.name, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmpdir:
        tmp = Path(tmpdir) / "payload"
        _fetch(entry.url, tmp, timeout, entry.file)
        if entry.download == "archive":
            member = entry.archive_member or entry.file
            try:
                with zipfile.ZipFile(tmp) as zf, zf.open(member) as src, open(Path(tmpdir) / "member", "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, KeyError) as exc:
                raise DownloadError(
                    f"weights {entry.name!r}: {entry.url} is not a zip holding {member} ({exc})") from exc
            tmp = Path(tmpdir) / "member"
        try:
            check_digest(entry, target, sha256_of(tmp), weights_dir)
        except WeightsError as exc:
            raise DownloadError(f"downloaded file rejected: {exc}") from exc
        os.replace(tmp, target)
    LOG.info("weights %r saved to %s", entry.name, target)
    return target


def download_weights(names: list[str] | None = None, weights_dir: str | Path | None = None,
                     timeout: float = 10.0) -> dict[str, Path]:
    """Download the named entries (default: every entry with an automatic download); raise one error at the end
    listing every failure."""
    entries = load_manifest()
    unknown = [n for n in names or [] if n not in entries]
    if unknown:
        raise WeightsError(f"unknown weights name(s) {unknown}; known: {', '.join(sorted(entries))}")
    chosen = [entries[n] for n in names] if names else [e for e in entries.values() if e.download in ("direct", "archive")]
    done: dict[str, Path] = {}
    errors: list[str] = []
    for entry in chosen:
        try:
            done[entry.name] = download_entry(entry, weights_dir, timeout)
        except DownloadError as exc:
            errors.append(str(exc))
            if isinstance(exc.__cause__, (urllib.error.URLError, OSError)) and not done:
                errors.append("(stopping: the network looks unreachable)")
                break
    if errors:
        raise DownloadError("\n".join(errors))
    return done
