"""Former home of ``deep_learning.engine.schedules``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.engine.schedules``."""

from deep_learning.engine.schedules import *  # noqa: F401,F403
from deep_learning.engine.schedules import __all__  # noqa: F401
