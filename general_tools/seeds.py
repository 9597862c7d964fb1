"""Seed arguments shared by the random parts of general_tools."""

import numbers

import keras
import numpy as np


def check_seed(seed):
    """Validates a seed: None, an int, or a ``keras.random.SeedGenerator``
    (use a SeedGenerator inside ``train_step``: an int seed repeats the same
    noise at every call). Returns it (ints as plain ``int``)."""
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(
            seed, (bool, np.bool_)):
        return int(seed)
    raise ValueError(
        "`seed` must be None, an int or a keras.random.SeedGenerator. "
        f"Received: seed={seed!r} (of type {type(seed).__name__})")
