"""Every config composes; typos and wrong types fail at composition; offline components instantiate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

import experiments.hydra_setup  # noqa: F401  (resolvers + schemas)
from hypercon.config import available, compose_component, compose_config, instantiate_component
from hypercon.errors import SettingError

CONF = Path(__file__).resolve().parents[1] / "conf"
GROUPS = ("method", "task", "dataset", "model", "flow", "interp", "metrics")


def compose_cfg(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_default_is_hypercon_style_on_synthetic():
    cfg = compose_cfg()
    assert cfg.method.name == "hypercon"
    assert cfg.task.name == "style" and cfg.dataset.name == "synthetic"
    assert list(cfg.metrics.names) == list(cfg.task.metrics)
    OmegaConf.resolve(cfg)  # every interpolation resolves


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_option_composes(group):
    for option in options(group):
        cfg = compose_cfg(f"{group}={option}")
        OmegaConf.to_container(cfg, resolve=True)


def test_experiments_compose():
    for option in options("experiment"):
        compose_cfg(f"+experiment={option}")


def test_inpaint_task_switches_model_but_cli_wins():
    assert compose_cfg("task=inpaint").model._target_.endswith("OpenCVInpaint")
    assert compose_cfg("task=inpaint", "model=identity").model._target_.endswith("Identity")
    assert compose_cfg("task=inpaint").task.masks == "rectangle"


def test_style_alias_reaches_the_model():
    cfg = compose_cfg("model=fst_engstrom", "style=udnie")
    assert cfg.model.style == "udnie"


@pytest.mark.parametrize(
    "override",
    ["method.window=abc", "method.num_inserted=1.5", "seed=zero", "overwrite=maybe", "task.metrics=3"],
)
def test_mistyped_override_fails_at_composition(override):
    """Root, task and metrics keys are typed by their schemas (Hydra refuses them); a component's options by
    its class signature (:func:`hypercon.config.compose_config` and the run's pre-flight refuse them)."""
    with pytest.raises((ConfigCompositionException, ValidationError, SettingError)):
        compose_config([override])


@pytest.mark.parametrize("override", ["method.windw=3", "sed=1", "paths.weight_dir=/x"])
def test_misspelled_key_fails_at_composition(override):
    with pytest.raises((ConfigCompositionException, ConfigKeyError)):
        compose_cfg(override)


def test_unknown_group_option_fails():
    with pytest.raises(ConfigCompositionException):
        compose_cfg("method=hypercorn")


#: options whose defaults need another top-level value (CycleGAN's styles are not the default style's; Wei's
#: image2image is trained for the colorize / sr2x / vseg tasks)
EXTRA_OVERRIDES = {"cyclegan_pretrained": ["style=monet"], "wei_image2image": ["task=colorize"]}
#: options that need the user's model (``???``): instantiating them without it names the missing key
USER_SUPPLIED = {"callable": "model.target", "torchscript": "model.path", "export": "model.path", "onnx": "model.path"}


@pytest.mark.parametrize("group", ["flow", "model", "interp"])
def test_offline_components_instantiate_with_tier(group):
    from hypercon.component import TIERS

    for option in options(group):
        cfg = compose_cfg(f"{group}={option}", *EXTRA_OVERRIDES.get(option, []))
        if group == "model" and option in USER_SUPPLIED:
            from omegaconf.errors import MissingMandatoryValue

            with pytest.raises(MissingMandatoryValue, match=USER_SUPPLIED[option].split(".")[1]):
                instantiate_component(cfg[group])
            continue
        try:
            obj = instantiate_component(cfg[group])
        except Exception as exc:  # paper tier without weights must say which file is missing
            from hypercon.weights import WeightsError

            assert isinstance(exc, WeightsError) or isinstance(exc.__cause__, WeightsError), exc
            continue
        assert obj.tier in TIERS
        assert obj.provenance()["tier"] == obj.tier


def test_components_compose_by_name_with_the_root_config():
    node = compose_component("flow", "dis_fine", values={"device": "cuda:1", "paths.weights_dir": "/w x"})
    assert node.preset == "fine" and OmegaConf.to_container(node, resolve=True)["device"] == "cuda:1"
    assert compose_component("flow", "raft_large", values={"paths.weights_dir": "/w x"}).weights_dir == "/w x"
    assert options("flow") == available("flow")
    with pytest.raises(ValueError, match=r"unknown flow 'dis_coarse': choose one of dis, .*farneback") as info:
        compose_component("flow", "dis_coarse")
    assert "\n" not in str(info.value)
    with pytest.raises(SettingError, match=r"^method\.window=abc: expected int"):
        compose_config(values={"method.window": "abc"})


def test_composing_inside_another_hydra_context_restores_it():
    from hydra.core.global_hydra import GlobalHydra

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        assert compose_config(["method.window=7"]).method.window == 7
        assert GlobalHydra.instance().is_initialized()
        assert compose(config_name="config", overrides=["flow=farneback"]).flow._target_.endswith("FarnebackFlow")
    assert not GlobalHydra.instance().is_initialized()
