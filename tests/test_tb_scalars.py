"""Tests for general_tools.tb_scalars: scalars written by tf.summary are
read back exactly (resumed steps keep the last value) and plotted."""

import numpy as np
import pytest
import tensorflow as tf

from general_tools import tb_scalars


def _write(log_dir, tag, pairs):
    writer = tf.summary.create_file_writer(str(log_dir))
    with writer.as_default():
        for step, value in pairs:
            tf.summary.scalar(tag, value, step=step)
        tf.summary.image("grid", np.zeros((1, 4, 4, 1), np.float32), step=0)
    writer.close()


def test_read_back_and_resume_overwrites(tmp_path):
    _write(tmp_path, "began/k", [(0, 0.0), (1, 0.25), (2, 0.5)])
    # A resumed run logs step 2 again, then continues.
    _write(tmp_path, "began/k", [(2, 0.75), (3, 1.0)])
    scalars = tb_scalars.read_scalars(str(tmp_path))
    assert set(scalars) == {"began/k"}  # the image is not a scalar
    steps, values = scalars["began/k"]
    np.testing.assert_array_equal(steps, [0, 1, 2, 3])
    np.testing.assert_allclose(values, [0.0, 0.25, 0.75, 1.0])


def test_last_written_value_wins_whatever_the_file_names(tmp_path):
    # Event-file names end in a per-process counter ('...9.v2' sorts after
    # '...10.v2'), so a resumed run's file may sort first: the value
    # written last must still win. Each file is written in a folder of its
    # own (one writer each), then both are moved into one log folder.
    import glob
    import os
    import time
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, pairs in (("9", [(2, 0.5)]), ("10", [(2, 0.75), (3, 1.0)])):
        _write(tmp_path / name, "began/k", pairs)
        (path,) = glob.glob(str(tmp_path / name / "events.out.tfevents.*"))
        os.rename(path, str(logs / f"events.out.tfevents.{name}.v2"))
        time.sleep(0.01)
    assert sorted(os.listdir(logs))[0].endswith(".10.v2")  # the later one
    steps, values = tb_scalars.read_scalars(str(logs))["began/k"]
    np.testing.assert_array_equal(steps, [2, 3])
    np.testing.assert_allclose(values, [0.75, 1.0])


def test_missing_tag_and_folder_errors(tmp_path):
    _write(tmp_path, "loss/d", [(0, 1.0)])
    with pytest.raises(ValueError, match=r"found: \[.grid., .loss/d.\]"):
        tb_scalars.read_scalars(str(tmp_path), ["began/k"])
    with pytest.raises(ValueError, match="No TensorBoard event file"):
        tb_scalars.read_scalars(str(tmp_path / "empty"))


def test_plot_writes_png(tmp_path):
    for name, scale in (("a", 1.0), ("b", 2.0)):
        _write(tmp_path / name, "m", [(s, scale * s) for s in range(5)])
    out = tb_scalars.main([str(tmp_path / "a"), str(tmp_path / "b"),
                           "--tags", "m", "--labels", "A,B", "--smooth", "2",
                           "--out", str(tmp_path / "fig.png")])
    assert out is None
    with open(tmp_path / "fig.png", "rb") as f:
        first = f.read()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    argv = [str(tmp_path / "a"), "--tags", "m", "--out",
            str(tmp_path / "fig.png")]
    with pytest.raises(SystemExit):  # an existing figure is kept
        tb_scalars.main(argv)
    assert (tmp_path / "fig.png").read_bytes() == first
    tb_scalars.main(argv + ["--overwrite"])
    assert (tmp_path / "fig.png").read_bytes() != first
