"""Former home of ``deep_learning.tools.sample``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.tools.sample``."""

from deep_learning.tools.sample import *  # noqa: F401,F403
from deep_learning.tools.sample import __all__  # noqa: F401
from deep_learning.tools.sample import main

if __name__ == "__main__":
    main()
