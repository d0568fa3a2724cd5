"""The CSV loss log of a training run (``step, <loss names>, lr, wall_s``) and its plot.

Losses are written with ``repr`` (shortest round-tripping decimal), so two runs' logs compare bit for bit.
On resume the log is cut back to the checkpoint's step: rows written after the last checkpoint by a killed
run are recomputed, never duplicated (rows are appended, not rewritten; a row cut short by a kill is dropped there).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from hypercon.io.atomic import atomic_path, atomic_write_bytes

LOG = logging.getLogger(__name__)


class LossLog:
    """Append-only CSV with a fixed header, fixed on the first row (losses in the order ``step`` returns)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.columns: list[str] | None = None

    def truncate(self, step: int) -> None:
        """Keep the header and the rows with ``step <= step`` (atomically); no file: nothing to do."""
        if not self.path.is_file():
            return
        rows = list(csv.reader(self.path.read_text().splitlines()))
        if not rows:
            return
        self.columns = rows[0]
        kept = [rows[0]] + [r for r in rows[1:] if len(r) == len(rows[0]) and int(r[0]) <= step]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(kept)
        atomic_write_bytes(self.path, buf.getvalue().encode())

    def append(self, step: int, losses: dict[str, float], lr: float, wall_s: float) -> None:
        """One row; the header is written with the first row of a new file."""
        row = {"step": step, **losses, "lr": lr, "wall_s": round(wall_s, 3)}
        if self.columns is None:
            self.columns = list(row)
            if not self.path.is_file() or self.path.stat().st_size == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text(",".join(self.columns) + "\n")
        if list(row) != self.columns:
            raise ValueError(f"loss log {self.path}: step {step} returned columns {list(row)}, "
                             f"the log has {self.columns}")
        with open(self.path, "a") as f:
            f.write(",".join(repr(float(v)) if k != "step" else str(v) for k, v in row.items()) + "\n")


def read_log(path: Path) -> dict[str, list[float]]:
    """Columns of a loss log as lists of floats (``step`` as ints)."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {k: [int(r[k]) if k == "step" else float(r[k]) for r in rows] for k in rows[0]}


def plot_log(csv_path: str | Path, png_path: str | Path) -> Path:
    """Plot every loss column against ``step`` (log-scale y where all values are positive) and the LR below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(Path(csv_path))
    if not log:
        raise ValueError(f"loss log {csv_path} has no rows to plot")
    losses = [k for k in log if k not in ("step", "lr", "wall_s")]
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(3, 1))
    for name in losses:
        ax_loss.plot(log["step"], log[name], label=name, linewidth=1)
    if all(v > 0 for name in losses for v in log[name]):
        ax_loss.set_yscale("log")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize="small")
    ax_lr.plot(log["step"], log["lr"], color="grey", linewidth=1)
    ax_lr.set_ylabel("lr")
    ax_lr.set_xlabel("step")
    fig.suptitle(Path(csv_path).parent.name)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return Path(png_path)
