"""Former home of ``deep_learning.tools.evaluate``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.tools.evaluate``."""

from deep_learning.tools.evaluate import *  # noqa: F401,F403
from deep_learning.tools.evaluate import __all__  # noqa: F401
from deep_learning.tools.evaluate import main

if __name__ == "__main__":
    main()
