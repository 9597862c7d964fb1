"""Former home of ``deep_learning.models.mixture_gans``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.models.mixture_gans``."""

from deep_learning.models.mixture_gans import *  # noqa: F401,F403
from deep_learning.models.mixture_gans import __all__  # noqa: F401
