"""Models of mixgan: the architecture-dict builder, layers, GAN models and the
training engine."""
