"""Image quality metrics (sliced Wasserstein distance, ...)."""
