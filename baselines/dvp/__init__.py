"""Deep Video Prior (Lei et al., NeurIPS 2020): a fresh U-Net trained on each test video so that
g(I_t) ≈ P_t (P: the frame-wise output of the image model); the output is g(I_t)."""
