"""Issue 26 item 3: a HyperCon setting under which no output frame pools more than itself is refused by
name (it would record the frame-wise video as HyperCon), and one under which some frames pool only
themselves is warned about, from the sample positions the pipeline uses (:func:`hypercon.align.window_indices`)."""

from __future__ import annotations

import logging

import pytest
import torch

from hypercon.align import check_pooling, lonely_outputs, window_indices
from hypercon.api import apply_hypercon
from hypercon.errors import SettingError


def test_lonely_outputs_small_cases():
    assert lonely_outputs(window_indices(3, 1, 3, 1)) == []  # [[0, 1], [1, 2, 3], [3, 4]]
    assert lonely_outputs(window_indices(5, 0, 3, 3)) == [2]  # 2 ± 3 falls outside 0..4
    assert lonely_outputs(window_indices(4, 0, 3, 4)) == [0, 1, 2, 3]  # d ≥ the interpolated length
    assert lonely_outputs(window_indices(3, 0, 1, 1)) == [0, 1, 2]  # c = 1 pools nothing by definition
    assert lonely_outputs(window_indices(1, 2, 5, 1)) == [0]  # one frame: nothing else to pool


def test_no_frame_pooling_another_is_refused_naming_the_keys():
    with pytest.raises(SettingError, match=r"method\.window=100001.*method\.dilation=1000") as caught:
        check_pooling(window_indices(4, 2, 100001, 1000), window=100001, dilation=1000)
    assert "frame-wise" in str(caught.value) and "\n" not in str(caught.value)


def test_some_lonely_frames_are_warned_about_and_c1_is_warned_not_refused(caplog):
    with caplog.at_level(logging.WARNING):
        check_pooling(window_indices(5, 0, 3, 3), window=3, dilation=3)
    assert "1 of 5 output frames" in caplog.text and "method.dilation=3" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        check_pooling(window_indices(3, 1, 1, 1), window=1, dilation=1)  # an explicit c = 1: frame-wise, said
    assert "method.window=1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        check_pooling(window_indices(3, 1, 3, 1), window=3, dilation=1)
        check_pooling(window_indices(1, 1, 3, 1), window=3, dilation=1)  # a one-frame video: nothing to say
    assert caplog.text == ""


def test_the_pipeline_refuses_the_issue_setting():
    frames = torch.rand(3, 3, 16, 16)
    with pytest.raises(SettingError, match="method.dilation=1000"):
        apply_hypercon(frames, lambda x: x, num_inserted=1, window=100001, dilation=1000)
