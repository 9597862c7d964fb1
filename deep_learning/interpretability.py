"""Former home of ``deep_learning.tools.interpretability``, kept so that existing code and commands keep
working: everything is defined in ``deep_learning.tools.interpretability``."""

from deep_learning.tools.interpretability import *  # noqa: F401,F403
from deep_learning.tools.interpretability import __all__  # noqa: F401
from deep_learning.tools.interpretability import main

if __name__ == "__main__":
    main()
