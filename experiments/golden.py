"""The golden run: ``python run.py`` with no overrides (HyperCon, offline tier, the embedded synthetic
default). Its per-video numbers are a contract: under the lock (``requirements/lock.txt``) they equal
``tests/golden_default.json`` to 1e-9 relative; on any other stack they stay within 1e-3 relative
(``tests/test_golden_default.py``). Golden values change only in a commit that says why, with the drift
this module prints.

    python -m experiments.golden                      # run it here, print each number's drift from the golden
    python -m experiments.golden --json new.json      # also write the numbers (the lock refresh reads them)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from hypercon.stack import REPO_ROOT

GOLDEN_FILE = REPO_ROOT / "tests" / "golden_default.json"
CONTRACT_RTOL = 1e-9  # under the lock
ANY_STACK_RTOL = 1e-3  # on a stack that differs from the lock in a numerical package


def golden_run(out_dir: Path) -> dict[str, Any]:
    """Run the default config into ``out_dir``; ``{"videos": {video: {key: value}}, "mean": {key: value}}``."""
    from hydra import compose, initialize_config_dir

    import experiments.hydra_setup  # noqa: F401  (registers the config schemas)
    from experiments.runner import run

    out_dir = Path(out_dir)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"paths.output_root={out_dir}", "save_video=false"])
    results = run(cfg, out_dir / "run")
    if not results["complete"]:
        raise RuntimeError(f"the golden run in {out_dir} did not complete")
    return {"videos": {row["video"]: dict(row["metrics"]) for row in results["videos"]},
            "mean": {key: agg["mean"] for key, agg in results["aggregate"].items()}}


def load_golden(path: Path = GOLDEN_FILE) -> dict[str, Any]:
    """The recorded golden values (same shape as :func:`golden_run`'s result)."""
    data = json.loads(Path(path).read_text())
    return {"videos": data["videos"], "mean": data["mean"]}


def drift_rows(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, float, float, float]]:
    """``(where, key, old, new, relative drift)`` for every golden number, per video then the mean; a number
    missing on one side has NaN there."""
    rows = []
    for where, old_values, new_values in [*((v, old["videos"][v], new["videos"].get(v, {})) for v in old["videos"]),
                                           ("mean", old["mean"], new["mean"])]:
        for key, before in old_values.items():
            after = float(new_values.get(key, math.nan))
            rel = abs(after - before) / abs(before) if before else abs(after - before)
            rows.append((where, key, float(before), after, rel))
    return rows


def format_drift(rows: list[tuple[str, str, float, float, float]]) -> str:
    """A Markdown table: video | metric | old | new | relative drift."""
    lines = ["| video | metric | golden | now | relative drift |", "|---|---|---|---|---|"]
    lines += [f"| {where} | {key} | {old:.12g} | {new:.12g} | {rel:.2e} |" for where, key, old, new, rel in rows]
    worst = max((row[4] for row in rows), default=0.0)
    lines.append(f"\nlargest relative drift {worst:.2e} (contract under the lock: {CONTRACT_RTOL:g}; any stack: "
                 f"{ANY_STACK_RTOL:g})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.golden", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write this run's numbers to this file")
    parser.add_argument("--golden", default=str(GOLDEN_FILE), help="golden values to compare with")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="golden_run_") as tmp:
        new = golden_run(Path(tmp))
    if args.json:
        Path(args.json).write_text(json.dumps(new, indent=2) + "\n")
    sys.stdout.write(format_drift(drift_rows(load_golden(Path(args.golden)), new)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
