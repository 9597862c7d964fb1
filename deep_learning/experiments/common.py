"""What every runner does at the end of a run: say where it is and how it
ended, and turn that into the script's exit status."""

from __future__ import annotations

import sys

__all__ = ["report_run", "exit_status"]


def report_run(result):
    """Prints the run folder and its step (and the non-finite stop message
    on stderr); returns ``result``."""
    print(f"run folder: {result.paths.root} (step {result.step})",
          flush=True)
    if result.stop_message:
        print(result.stop_message, file=sys.stderr, flush=True)
    return result


def exit_status(*results):
    """1 when any run stopped on a non-finite value, else 0."""
    return 1 if any(r.stop_message for r in results) else 0
