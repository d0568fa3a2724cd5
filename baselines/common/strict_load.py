"""Strict ``load_state_dict`` whose failures are one-line ``ValueError``s naming the file and the keys."""

from __future__ import annotations

from typing import Mapping

from torch import Tensor, nn


def load_state_strict(net: nn.Module, state: Mapping[str, Tensor], source: str, label: str) -> nn.Module:
    """Load ``state`` into ``net`` with ``strict=True``.

    Raises:
        ValueError: ``"{source}: keys do not match {label}: missing [...], unexpected [...]"`` (the first five
        of each, sorted), or ``"{source}: size mismatch for KEY: ..."`` (PyTorch's last line).
    """
    expected = net.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{source}: keys do not match {label}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise ValueError(f"{source}: {str(exc).splitlines()[-1].strip()}") from exc
    return net
