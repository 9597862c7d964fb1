"""General tools of mixgan: spectral normalisation, GAN and MMD losses,
penalties, metrics, data input and figures.

Nothing here depends on ``deep_learning``; the model code imports from here.
"""

import os as _os
import sys as _sys

# TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with
# AVX-512 VNNI / AMX; on AVX2 machines it falls back to Eigen, whose strided
# convolution gradients make a GAN step about twice as slow on CPU
# (benchmarks/train_throughput.py). The switch is read when TensorFlow is
# first imported, so it is set here, before any mixgan module imports it;
# an explicit TF_ENABLE_ONEDNN_OPTS (e.g. 0) is respected, and nothing
# changes once TensorFlow is already imported. GPUs are unaffected.
if "tensorflow" not in _sys.modules:
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


# Importing the package registers every loss (`losses`, `began_losses`) and
# the spectral normalisation layer.
from general_tools import began_losses, losses, spectral_norm  # noqa: E402,F401
