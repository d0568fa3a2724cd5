"""What the I3D-based metrics (:mod:`metrics.vfid`, :mod:`metrics.vlpips`) share: one constructor for the pretrained
I3D extractor, the clip window and batch, and the weights record their provenance reports."""

from __future__ import annotations

from typing import Any

from metrics.base import _Metric
from metrics.i3d import I3DFeatures


class I3DClipMetric(_Metric):
    """A metric on I3D features of ``window``-frame clips (paper tier; needs ``i3d_rgb_imagenet``).

    Subclasses call :meth:`setup_i3d` from their ``__init__`` (whose signature states the options) and list it
    before :class:`metrics.base.VideoMetric` or :class:`metrics.base.SetMetric` among their bases.
    """

    tier = "paper"
    window: int
    batch_size: int
    extractor: I3DFeatures

    def setup_i3d(self, compare_with: str, window: int, batch_size: int, input_range: str, weights: str | None,
                  weights_dir: str | None, device: str) -> None:
        """Validate the shared options (ValueError naming the metric) and load I3D (MissingWeightsError when
        ``rgb_imagenet.pt`` is not found)."""
        self.compare_with = self.check_compare_with(compare_with)
        if int(window) < 1 or int(batch_size) < 1:
            raise ValueError(f"{self.name}: window and batch_size must be >= 1, got {window}, {batch_size}")
        self.window, self.batch_size = int(window), int(batch_size)
        self.extractor = I3DFeatures(weights, weights_dir, device, input_range)

    def weights(self) -> dict[str, Any] | None:
        return self.extractor.record()["weights"]
