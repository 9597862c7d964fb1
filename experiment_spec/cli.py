"""How every ``my_tests`` script and ``python -m deep_learning.<tool>``
command ends: exit status 0 (done), 1 (failed: a user error, a run stopped
by non-finite values, a training that raised), 2 (usage: a bad flag).

A user error (a ``ValueError`` or an ``OSError``: a run folder of another
configuration, a missing file, an output that exists without
``--overwrite``) is printed as ``prog: error: <message>`` without a
traceback; ``MIXGAN_TRACEBACK=1`` shows it. Anything else (a bug) keeps its
traceback. Warnings print as one ``prog: warning: <message>`` line.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings

from experiment_spec.flags import UsageError

__all__ = ["run"]


def _one_line_warnings(prog):
    def show(message, category, filename, lineno, file=None, line=None):
        stream = file or sys.stderr
        stream.write(f"{prog}: warning: {message}\n")
    warnings.showwarning = show


def run(main, argv=None, prog=None):
    """Runs ``main(argv)`` and returns the process's exit status.

    ``main`` returns None or 0 (success), or 1 (failure, e.g. a run that
    stopped on a non-finite loss); its parser exits with 2 on bad flags.
    Use as ``sys.exit(cli.run(main))``.
    """
    prog = prog or os.path.basename(sys.argv[0] or "mixgan")
    _one_line_warnings(prog)
    try:
        status = main(argv)
    except UsageError as error:
        print(f"{prog}: error: {error} (see --help)", file=sys.stderr)
        return 2
    except (ValueError, OSError) as error:
        if os.environ.get("MIXGAN_TRACEBACK"):
            traceback.print_exc()
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
