"""VINet (Kim et al., "Deep Video Inpainting", CVPR 2019; mcahny/Deep-Video-Inpainting ``VINet_final``) in
pure PyTorch: :mod:`.network` (the network and its one loader, :func:`vinet_from_checkpoint`),
:mod:`.layers` (gated convolutions, encoder, decoder), :mod:`.flow` (flow / occlusion nets, warps),
:mod:`.correlation` (FlowNet2's cost volume)."""
