"""Training side of GAN Zoo: trainer, losses and evaluation metrics (may import zoo, never the reverse)."""
