"""The resume hash leaves out where a dataset's data lives (its location options, derived from the options
the dataset class declares), never what the data is; the default run's hash does not move."""

from __future__ import annotations

import pytest

import experiments.hydra_setup  # noqa: F401  (resolvers + schemas)
from experiments.run_config import data_location_keys, result_config
from hypercon.config import compose_config
from hypercon.provenance import config_hash

#: ``python run.py``'s resume hash: a change makes every finished default run recompute (and the golden run's
#: provenance differ), so change it only on purpose
DEFAULT_RUN_HASH = "43361f4450709d95"


def test_the_default_runs_config_hash_is_unchanged():
    assert config_hash(result_config(compose_config())) == DEFAULT_RUN_HASH


@pytest.mark.parametrize("dataset, keys", [
    ("folder", ["data_root", "mask_dir", "masks_root", "root"]),
    ("inpaint_samples", ["data_root", "mask_dir", "masks_root", "root"]),
    ("davis2016", ["mask_dir", "root"]),
    ("activitynet", ["cache_dir", "manifest", "mask_dir", "root"]),
    ("synthetic", ["mask_dir"]),
])
def test_location_keys_come_from_the_dataset_class(dataset, keys):
    node = compose_config([f"dataset={dataset}"]).dataset
    assert data_location_keys(dict(node)) == keys


def test_masks_root_is_left_out_like_root_and_masks_subdir_is_not():
    def hash_of(*overrides: str) -> str:
        return config_hash(result_config(compose_config(["dataset=folder", "method=framewise", *overrides])))

    here = hash_of("dataset.root=/data/a/videos", "dataset.masks_root=/data/a/masks")
    assert hash_of("dataset.root=/elsewhere/videos", "dataset.masks_root=/elsewhere/masks") == here
    assert hash_of("dataset.root=/data/a/videos", "dataset.masks_root=null") == here
    assert hash_of("dataset.root=/data/a/videos", "dataset.masks_subdir=holes") != here  # which files: results


def test_an_old_config_whose_class_is_gone_falls_back_to_the_name_rule():
    old = {"_target_": "datasets.removed.OldDataset", "root": "/x", "masks_root": "/m", "frames_subdir": "f",
           "manifest": "/c.csv", "num_frames": 4}
    assert data_location_keys(old) == ["masks_root", "root"]
