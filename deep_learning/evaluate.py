"""``python -m deep_learning.evaluate``: the command of
``deep_learning.tools.evaluate``, whose names this former home re-exports so that
existing code and commands keep working."""

import sys

from deep_learning.tools.evaluate import *  # noqa: F401,F403
from deep_learning.tools.evaluate import __all__  # noqa: F401
from deep_learning.tools.evaluate import main
from experiment_spec import cli

if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m deep_learning.evaluate"))
