"""Former home of ``deep_learning.network.builder``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.network.builder``."""

from deep_learning.network.builder import *  # noqa: F401,F403
from deep_learning.network.builder import __all__  # noqa: F401
