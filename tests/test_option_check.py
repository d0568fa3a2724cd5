"""Every component option is checked against its class signature before any work (hypercon/option_check.py):
one line naming the key, the value, the expected type and the class; unknown keys are refused; values in
another form are converted as the typed schemas converted them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Optional

import pytest
from omegaconf import OmegaConf, open_dict

import experiments.hydra_setup  # noqa: F401  (resolvers + schemas)
from experiments.run_config import check_run_options
from hypercon.config import compose_config
from hypercon.declared_options import declared_options, locate, options_of
from hypercon.errors import SettingError
from hypercon.option_check import check_options, coerce_options
from hypercon.option_types import OptionTypeError, coerce, describe


@pytest.mark.parametrize("value, annotation, expected", [
    ("7", int, 7), (5, float, 5.0), ("1.5", float, 1.5), (2016, str, "2016"), ("true", bool, True),
    (None, Optional[int], None), (0.5, float | str, 0.5), ("noise", float | str, "noise"),
    ([832, 480], list[int] | tuple[int, int] | None, [832, 480]), (["a"], Sequence[str], ["a"]),
    ("b", Literal["a", "b"], "b"), ({"_target_": "x.Y"}, Any, {"_target_": "x.Y"}),
])
def test_coerce_converts_as_omegaconf_typed_nodes_do(value, annotation, expected):
    result = coerce(value, annotation)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value, annotation, message", [
    ("abc", int, "expected int"), (1.5, int, "expected int"), (True, int, "expected int"),
    ("maybe", bool, "expected bool"), (None, float, "expected float"), ("relu1_2", Sequence[str], "expected a list"),
    (["a", 3], list[int] | None, "expected list[int] | None"), ([1, 2, 3], tuple[int, int], "expected 2 items"),
    ("c", Literal["a", "b"], "expected one of a, b"), ([1], dict, "expected a mapping"),
])
def test_coerce_refuses_naming_the_expected_type(value, annotation, message):
    with pytest.raises(OptionTypeError, match=message.replace("[", r"\[").replace("|", r"\|")):
        coerce(value, annotation)


def test_describe_writes_the_annotation_as_in_a_signature():
    assert describe(int) == "int" and describe(Optional[str]) == "str | None"
    assert describe(list[int] | tuple[int, int] | None) == "list[int] | tuple[int, int] | None"


class _Base:
    def __init__(self, *, shared: int = 0) -> None:
        self.shared = shared


class _Child(_Base):
    def __init__(self, own: float = 1.0, **options: Any) -> None:
        super().__init__(**options)


class _Open:
    def __init__(self, **anything: Any) -> None:
        self.anything = anything


def _function(a: int, *args: Any, b: "str | None" = None, **kwargs: Any) -> None:
    """A factory with **kwargs: any key."""


def test_declared_options_follow_kwargs_up_the_mro_and_stop_at_the_first_closed_init():
    child = options_of(_Child, "tests._Child")
    assert list(child.options) == ["own", "shared"] and not child.open
    assert child.options["shared"].annotation is int and child.options["own"].default == 1.0
    assert options_of(_Open, "tests._Open").open
    function = options_of(_function, "tests._function")
    assert list(function.options) == ["a", "b"] and function.open
    assert function.options["b"].annotation == Optional[str]


def test_declared_options_resolve_a_dotted_target_without_building_it():
    assert declared_options("datasets.synthetic.SyntheticDataset").options["mask_dilation"].annotation is int
    assert locate("hypercon.pipeline.HyperCon").__name__ == "HyperCon"
    with pytest.raises(ImportError, match="hypercon.pipeline.HyperCorn"):
        locate("hypercon.pipeline.HyperCorn")
    with pytest.raises(ImportError, match="no_such_package.X"):
        locate("no_such_package.X")


@pytest.mark.parametrize("overrides, line", [
    (["method.window=abc"], "method.window=abc: expected int (hypercon.pipeline.HyperCon.window)"),
    (["model.num_colors=abc"], "model.num_colors=abc: expected int (hypercon.models.classical.KMeansPalette.num_colors)"),
    (["dataset.fps=fast"], "dataset.fps=fast: expected float (datasets.synthetic.SyntheticDataset.fps)"),
    (["dataset.max_frames=1.5"], "dataset.max_frames=1.5: expected int | None (datasets.synthetic.SyntheticDataset.max_frames)"),
    (["dataset=davis2016", "dataset.size=[a,b]"],
     "dataset.size=[a, b]: expected list[int] | tuple[int, int] | None (datasets.davis.DAVISDataset.size)"),
    (["metrics.flow.levels=3"], None),  # dis has no `levels`: a Hydra override of an absent key fails there
    (["+method.windw=3"], "method.windw=3: not an option of hypercon.pipeline.HyperCon (options: model, interp, flow, "),
    (["method=dvp", "+method.perceptual.bogus=2"],
     "method.perceptual.bogus=2: not an option of baselines.common.perceptual.build_vgg_random"),
])
def test_a_bad_option_is_one_line_naming_key_value_type_and_class(overrides, line):
    from hydra.errors import ConfigCompositionException

    with pytest.raises((SettingError, ConfigCompositionException)) as info:
        compose_config(overrides)
    if line is not None:
        assert isinstance(info.value, SettingError) and str(info.value).startswith(line)
        assert "\n" not in str(info.value)


def test_values_in_another_form_are_converted_as_the_schemas_did():
    cfg = compose_config(["dataset=davis2016", "dataset.split=2016", "model.num_colors='6'"])
    assert cfg.dataset.split == "2016" and cfg.model.num_colors == 6
    cfg = compose_config(["dataset.fps=24"])
    assert cfg.dataset.fps == 24.0 and type(cfg.dataset.fps) is float
    assert OmegaConf.is_interpolation(cfg.method, "model") and OmegaConf.is_interpolation(cfg.dataset, "seed")


def test_the_whole_default_config_passes_and_hydra_keys_are_not_options():
    cfg = compose_config()
    assert check_options(cfg) == {}
    with open_dict(cfg.model):
        cfg.model.batch_size = "4"  # a string an int option accepts: converted in place
    coerce_options(cfg)
    assert cfg.model.batch_size == 4


def test_method_settings_of_the_selected_method_are_checked_before_any_work():
    cfg = compose_config(["+method_settings.hypercon.window=abc"])
    with pytest.raises(SettingError, match=r"^method_settings\.hypercon\.window=abc: expected int \(hypercon"):
        check_run_options(cfg)
    cfg = compose_config(["+method_settings.hypercon.windw=3"])
    with pytest.raises(SettingError, match=r"^method_settings\.hypercon\.windw=3: not an option of hypercon"):
        check_run_options(cfg)
    cfg = compose_config(["+method_settings.hypercon.window='7'", "+method_settings.framewise.bogus=1"])
    check_run_options(cfg)  # another method's settings are checked when that method runs
    assert cfg.method_settings.hypercon.window == 7
