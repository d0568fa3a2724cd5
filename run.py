"""hypercon-bench entry point (Hydra app).

    python run.py                                   # embedded default: HyperCon on the synthetic video
    python run.py method=framewise task=style model=fst_engstrom dataset=davis2016 dataset.root=…
    python run.py -m method.num_inserted=1,2,3      # a sweep
    python run.py --cfg job                         # print the composed config
    python run.py -v …                              # tracebacks of expected errors on the terminal too

Exit status: 0 done; 2 an expected error (bad input or setting: one line on stderr, the traceback in the
job's run.log) or some videos failed on bad input (the others finished); 1 a bug (with its traceback).
See docs/running.md for the config groups and the output layout.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import experiments.hydra_setup  # noqa: F401  (registers resolvers and typed config schemas)

log = logging.getLogger("hypercon")
FAILED_JOBS: list[str] = []  # one line per job that stopped on an expected error


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from experiments.console import install_once_filter, report_user_error
    from experiments.hydra_setup import check_own_packages
    from experiments.runner import MethodWeightsMissing, run
    from hydra.types import RunMode

    from hypercon.errors import find_expected_error

    install_once_filter()
    logging.getLogger().setLevel(str(cfg.get("log_level", "INFO")).upper())  # checked in pre-flight
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        check_own_packages()
        results = run(cfg, output_dir)
    except Exception as exc:
        user_error = find_expected_error(exc)
        if user_error is None:
            raise  # a bug: Hydra prints its traceback
        if isinstance(user_error, MethodWeightsMissing) and HydraConfig.get().mode == RunMode.MULTIRUN:
            # a sweep goes on without a method whose weights are missing: its row reads "unavailable"
            from experiments.runner import write_unavailable
            from hypercon.errors import one_line

            write_unavailable(cfg, output_dir, f"weights missing: {one_line(user_error)}")
            log.warning("%s: unavailable (weights missing), recorded in %s: %s", cfg.method.name,
                        output_dir / "results.json", one_line(user_error))
            return None
        FAILED_JOBS.append(report_user_error(exc, user_error))
        if not _in_this_process():
            raise  # a launcher with worker processes (joblib, submitit, slurm) must see the job fail
        return None
    log.info("results: %s", output_dir / "results.json")
    return None if not results else results.get("objective")


def _in_this_process() -> bool:
    """Whether jobs run in this process (a plain run, or the local launcher's sweep), so that
    :data:`FAILED_JOBS` reaches :func:`cli`'s exit status."""
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return True
    return str(hydra_cfg.launcher.get("_target_", "")).endswith("BasicLauncher")


def cli() -> int:
    """``python run.py``: strip ``-v`` (verbose errors), run the Hydra app, exit 2 if a job stopped on an
    expected error."""
    if "-v" in sys.argv[1:]:
        sys.argv = [a for a in sys.argv if a != "-v"]
        os.environ["HYPERCON_VERBOSE"] = "1"
    main()
    return 2 if FAILED_JOBS else 0


if __name__ == "__main__":
    sys.exit(cli())
