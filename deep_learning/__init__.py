"""Models of mixgan: the architecture-dict builder, layers, GAN models and the
training engine."""

import general_tools  # noqa: F401,E402  (CPU kernel switch, before TensorFlow)
