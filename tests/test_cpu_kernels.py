"""mixgan switches TensorFlow's oneDNN CPU kernels on when it is imported
before TensorFlow, and respects an explicit setting."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = ("import os, sys; import deep_learning; "
         "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), "
         "'tensorflow' in sys.modules)")


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_onednn_default_is_set_before_tensorflow_loads():
    # Importing the package must not import TensorFlow (or the switch
    # would come too late).
    assert _probe() == ["1", "False"]


def test_explicit_setting_is_respected():
    assert _probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "False"]
