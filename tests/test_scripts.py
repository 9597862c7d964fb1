"""Every ``my_tests`` script: one flag set, checked before TensorFlow loads.

``--help`` lists every flag the script takes; ``--steps 0`` is refused with
one line naming the flag and exit status 2, before TensorFlow is imported
and before anything is written; and every flag the parser accepts is read
by the script (none is accepted and ignored)."""

import glob
import importlib.util
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(glob.glob(os.path.join(ROOT, "my_tests", "my_test_*.py")))
PROBE = """
import runpy, sys
sys.argv = [sys.argv[1]] + sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    print("EXIT", stop.code, "tensorflow" in sys.modules)
"""


def _parser(script):
    """The script's PARSER, imported without running it (TF-free)."""
    sys.path.insert(0, os.path.dirname(script))
    try:
        spec = importlib.util.spec_from_file_location(
            "script_" + os.path.basename(script)[:-3], script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.dirname(script))
    return module.PARSER


def _run(script, *args, cwd):
    return subprocess.run([sys.executable, "-c", PROBE, script, *args],
                          capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_every_script_is_covered():
    assert len(SCRIPTS) == 14


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_help_lists_every_flag(script, tmp_path):
    proc = _run(script, "--help", cwd=tmp_path)
    assert proc.stdout.strip().endswith("EXIT 0 False"), proc.stderr[-2000:]
    flags = [s for action in _parser(script)._actions
             for s in action.option_strings if s.startswith("--")]
    assert "--out" in flags or "--steps" in flags
    for flag in flags:
        assert flag in proc.stdout, flag
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_steps_zero_is_refused_before_tensorflow(script, tmp_path):
    proc = _run(script, "--steps", "0", "--out", str(tmp_path / "out"),
                cwd=tmp_path)
    assert proc.stdout.strip().endswith("EXIT 2 False"), proc.stderr[-2000:]
    name = os.path.basename(script)
    assert proc.stderr.strip().splitlines() == [
        f"{name}: error: argument --steps: must be an integer > 0; "
        "received '0' (see --help)"]
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("script", SCRIPTS, ids=os.path.basename)
def test_no_flag_is_accepted_and_ignored(script):
    """Each flag's value is read by the script (``args.<name>``), or the
    script hands all of them on (``vars(args)``)."""
    with open(script, encoding="utf-8") as handle:
        source = handle.read()
    helpers = ""
    if "import my_test_began_celeba" in source or \
            "from my_test_began_celeba" in source:
        with open(os.path.join(os.path.dirname(script),
                               "my_test_began_celeba.py")) as handle:
            helpers = handle.read()
    # Runners that receive the parsed flags whole (mmd.run_script(...,
    # args, ...)) read them there.
    for module in re.findall(r"from deep_learning\.experiments import "
                             r"([\w, ]+)", source):
        for name in [m.split()[0] for m in module.split(",")]:
            path = os.path.join(ROOT, "deep_learning", "experiments",
                                f"{name}.py")
            with open(path, encoding="utf-8") as handle:
                runner = handle.read()
            if re.search(r"\bargs\b", runner):
                helpers += runner
    text = source + helpers
    for action in _parser(script)._actions:
        if not action.option_strings or action.dest == "help":
            continue
        used = re.search(rf"\bargs\.{action.dest}\b", text) or \
            "vars(args)" in text
        assert used, f"{os.path.basename(script)}: --{action.dest} is " \
                     "accepted but never read"
