"""The bicubic baseline of ×2 super-resolution (tier offline, weight-free)."""

from __future__ import annotations

from hypercon.models.diagnostic import Identity


class Bicubic(Identity):
    """``model=bicubic``: returns its input. On ``task=sr2x`` the input IS the bicubic ×2 upsampling of the
    antialiased bicubic ×½ downsampling (:func:`hypercon.tasks.sr2x_input`), so this model is the bicubic
    baseline of ×2 super-resolution, and HyperCon over it pools bicubic frames. Identical to ``model=identity``
    but named for its role in the tables."""

    name = "bicubic"
    label = "Bicubic"
