"""Wei, Zhu, Feng and Su (ACM MM 2018): video-to-video translation with global temporal consistency —
the recurrent U-Net, the two-channel recurrent discriminator, the residual-error losses, training here,
``method=wei_v2v`` and the per-frame ``model=wei_image2image``."""
