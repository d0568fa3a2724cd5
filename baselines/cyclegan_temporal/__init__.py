"""CycleGAN trained with the thesis optical-flow temporal loss (Singh 2020): network parts, losses, training,
and the ``model=cyclegan_temporal`` image model of the shipped generators."""
