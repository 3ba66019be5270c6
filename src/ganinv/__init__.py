"""ganinv: GAN inversion (gradient descent, encoder, hybrid) for faces and audio."""

__version__ = "0.1.0"
