"""hypercon-bench entry point (Hydra app).

    python run.py                                   # embedded default: HyperCon on the synthetic video
    python run.py method=framewise task=style model=fst_engstrom dataset=davis2016 dataset.root=…
    python run.py -m method.num_inserted=1,2,3      # a sweep
    python run.py --cfg job                         # print the composed config

See README.md for the config groups and the output layout.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import experiments.hydra_setup  # noqa: F401  (registers resolvers and typed config schemas)

log = logging.getLogger("hypercon")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from experiments.hydra_setup import check_own_packages
    from experiments.runner import run

    check_own_packages()
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    results = run(cfg, output_dir)
    log.info("results: %s", output_dir / "results.json")
    return None if not results else results.get("objective")


if __name__ == "__main__":
    main()
