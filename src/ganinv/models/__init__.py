"""Neural network models (ProGAN generator/discriminator, encoders)."""
