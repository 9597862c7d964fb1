"""Former home of ``deep_learning.engine.training``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.engine.training``."""

from deep_learning.engine.training import *  # noqa: F401,F403
from deep_learning.engine.training import __all__  # noqa: F401
