"""Former home of ``deep_learning.models.gan``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.models.gan``."""

from deep_learning.models.gan import *  # noqa: F401,F403
from deep_learning.models.gan import __all__  # noqa: F401
