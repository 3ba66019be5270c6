"""Training loops (GANs; later encoders and classifiers)."""
