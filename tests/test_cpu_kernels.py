"""mixgan switches TensorFlow's oneDNN CPU kernels on when it is imported
before TensorFlow, and respects an explicit setting."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `import deep_learning` loads TensorFlow (it registers every layer and
# model); the switch must have been set before that, which TensorFlow's own
# record of whether its oneDNN kernels are on shows.
PROBE = ("import os, sys; import deep_learning; "
         "from tensorflow.python.util import _pywrap_util_port as port; "
         "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), port.IsMklEnabled())")


def _probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_onednn_default_is_set_before_tensorflow_loads():
    assert _probe() == ["1", "True"]


def test_explicit_setting_is_respected():
    assert _probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "False"]
