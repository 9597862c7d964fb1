"""The models of mixgan, laid out by concern.

* ``deep_learning.network``: the architecture-dict grammar and the builder
  that turns a list of layer dicts into a ``keras.Model``, its layers and the
  ready-made specs.
* ``deep_learning.models``: the GAN base model (train step, sampling, EMA,
  stateless randomness), BEGAN, GM-GAN, MMD-GAN, the mixture-of-generator
  GANs and their mixing layers.
* ``deep_learning.engine``: ``train`` (run folder, resume, ``fit``),
  callbacks, learning-rate schedules, the run folder on disk.
* ``deep_learning.experiments``: the runners behind the ``my_tests``
  scripts and the study grids.
* ``deep_learning.tools``: the post-run tools (``sample``, ``evaluate``,
  ``interpretability``) and evaluation during training.

Importing the package registers every builder op and activation, every Keras
layer, model and schedule of mixgan (and, through ``general_tools``, every
loss), so architecture dicts build and saved ``.keras`` files and run
folders load after ``import deep_learning`` alone.
"""

import general_tools  # noqa: F401  (CPU kernel switch first, then losses)
from deep_learning.engine import schedules  # noqa: F401
from deep_learning.models import (began, began_networks, ema, gan,  # noqa: F401
                                  gmgan, mixture_gans, mixture_layers,
                                  mmd_gan)
from deep_learning.network import builder, layers  # noqa: F401
