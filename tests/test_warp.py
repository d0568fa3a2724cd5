import pytest
import torch

from hypercon.resize import pad_to_multiple, reflect_if_it_fits, resize_flow, unpad
from hypercon.warp import backward_warp


def test_backward_warp_integer_shift_is_slicing():
    src, flow = torch.rand(1, 3, 6, 8), torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 2.0  # dx = +2 px
    out, valid = backward_warp(src, flow)
    torch.testing.assert_close(out[..., :-2], src[..., 2:])
    assert valid[..., :-2].all() and not valid[..., -2:].any()


def test_backward_warp_axis_order_dy():
    src, flow = torch.rand(2, 1, 7, 5), torch.zeros(2, 2, 7, 5)
    flow[:, 1] = -3.0  # dy = -3 px: out(y) = src(y-3)
    out, valid = backward_warp(src, flow, padding="zeros")
    torch.testing.assert_close(out[..., 3:, :], src[..., :-3, :])
    assert not valid[..., :3, :].any()
    assert (out[..., :2, :] == 0).all()


def test_backward_warp_subpixel_is_linear_interpolation():
    src = torch.arange(10.0).view(1, 1, 1, 10).expand(1, 1, 3, 10).contiguous()
    flow = torch.zeros(1, 2, 3, 10)
    flow[:, 0] = 0.25
    out, _ = backward_warp(src, flow)
    torch.testing.assert_close(out[..., :-1], src[..., :-1] + 0.25)


def test_border_clamps():
    src = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 2, 4).contiguous()
    flow = torch.full((1, 2, 2, 4), 0.0)
    flow[:, 0] = 10.0
    out, valid = backward_warp(src, flow, padding="border")
    assert torch.all(out == 3.0) and not valid.any()


def test_grid_roundings_differ_only_by_float_rounding():
    src, flow = torch.rand(2, 3, 48, 832), 20 * torch.randn(2, 2, 48, 832)
    divide, valid = backward_warp(src, flow)
    reciprocal, valid_r = backward_warp(src, flow, grid_rounding="reciprocal")
    assert torch.equal(valid, valid_r)
    torch.testing.assert_close(reciprocal, divide, atol=5e-4, rtol=0)  # ~1e-4 px of position at W = 832
    with pytest.raises(ValueError, match="grid_rounding"):
        backward_warp(src, flow, grid_rounding="exact")


def test_pad_unpad_roundtrip_and_resize_flow_scales_magnitude():
    x = torch.rand(2, 3, 13, 21)
    padded, pads = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (16, 24)
    torch.testing.assert_close(unpad(padded, pads), x)
    flow = torch.ones(1, 2, 10, 20)
    out = resize_flow(flow, (20, 10))
    assert out.shape[-2:] == (20, 10)
    torch.testing.assert_close(out[:, 0], torch.full((1, 20, 10), 0.5))
    torch.testing.assert_close(out[:, 1], torch.full((1, 20, 10), 2.0))


def test_reflect_if_it_fits_reflects_only_where_the_pad_is_shorter_than_the_side():
    assert reflect_if_it_fits((100, 150), 128) == "reflect"  # pads 28 and 106 < sides
    assert reflect_if_it_fits((10, 200), 128) == "replicate"  # pad 118 >= 10
    assert reflect_if_it_fits((128, 3), 4) == "reflect" and reflect_if_it_fits((128, 2), 4) == "replicate"
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    padded, pads = pad_to_multiple(x, 4, mode=reflect_if_it_fits(x.shape[-2:], 4))
    torch.testing.assert_close(padded[0, 0, 0], torch.tensor([0.0, 1.0, 2.0, 1.0]))  # reflected, not repeated
    assert torch.equal(unpad(padded, pads), x)
