"""Shared pytest setup: quiet TensorFlow, CPU only, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# What a mixgan user gets on CPU (oneDNN kernels, set by the package before
# TensorFlow loads), whichever test module happens to import TensorFlow first.
import general_tools  # noqa: E402,F401
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)
