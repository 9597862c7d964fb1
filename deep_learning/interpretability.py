"""``python -m deep_learning.interpretability``: the command of
``deep_learning.tools.interpretability``, whose names this former home re-exports so that
existing code and commands keep working."""

import sys

from deep_learning.tools.interpretability import *  # noqa: F401,F403
from deep_learning.tools.interpretability import __all__  # noqa: F401
from deep_learning.tools.interpretability import main
from experiment_spec import cli

if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m deep_learning.interpretability"))
