"""Optical-flow estimators (``FlowEstimator`` subclasses; nothing heavy is imported here).

* :mod:`hypercon.flow.dis` — OpenCV DIS, presets ultrafast/fast/medium/fine (offline tier, the default).
* :mod:`hypercon.flow.farneback` — OpenCV Farnebäck (offline tier, the coherence-loss baseline's flow).
* :mod:`hypercon.flow.raft` — torchvision RAFT large/small with torchvision's weights (paper tier).
* :mod:`hypercon.flow.pwcnet` — PWC-Net with the official weights (paper tier), cost volume in
  :mod:`hypercon.flow.correlation`.
"""
