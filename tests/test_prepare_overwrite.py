"""`prepare_image_folder.py --overwrite` replaces only the files the script
wrote (its manifest), keeps everything else, and a failed run leaves the
previous output as it was."""

import importlib.util
import json
import os

import numpy as np
import pytest
from PIL import Image

from general_tools.data import load_dataset, prepared_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def prep():
    spec = importlib.util.spec_from_file_location(
        "prepare_image_folder",
        os.path.join(ROOT, "datasets", "prepare_image_folder.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def made(tmp_path, rng, prep):
    """An image folder of 6 PNGs and its prepared output (3 shards)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
                        ).save(src / f"{i}.png")
    out = tmp_path / "out"
    prep.main(_args(src, out, "--shard_size", "2"))
    return src, out


def _args(src, out, *more):
    return ["--input_dir", str(src), "--output_dir", str(out),
            "--image_size", "4", "--holdout", "0", *more]


def _listing(folder):
    return {f: (folder / f).read_bytes() for f in sorted(os.listdir(folder))}


def test_the_manifest_lists_what_was_written(made):
    _, out = made
    shards = [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert sorted(os.listdir(out)) == ["dataset_info.json",
                                       "prepare_manifest.json"] + shards
    manifest = json.loads((out / "prepare_manifest.json").read_text())
    assert manifest["files"] == ["dataset_info.json"] + shards


def test_overwrite_keeps_files_it_did_not_write(made, prep):
    src, out = made
    (out / "notes.txt").write_text("mine")
    prep.main(_args(src, out, "--shard_size", "6", "--overwrite"))
    assert sorted(os.listdir(out)) == [
        "dataset_info.json", "notes.txt", "prepare_manifest.json",
        "train-00000-of-00001.tfrecord"]
    assert (out / "notes.txt").read_text() == "mine"
    assert len(list(load_dataset(f"tfrecord:{out}").as_numpy_iterator())) \
        == 6


def test_overwrite_refuses_next_to_a_foreign_tfrecord(made, prep):
    src, out = made
    (out / "other.tfrecord").write_bytes(b"someone else's data")
    before = _listing(out)
    with pytest.raises(FileExistsError, match=r"1 file\(s\) this script did "
                                              r"not write .*'other.tfrecord'"):
        prep.main(_args(src, out, "--overwrite"))
    assert _listing(out) == before


def test_a_failed_run_leaves_the_previous_output(made, prep, rng):
    src, out = made
    before = _listing(out)
    data = bytearray((src / "5.png").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the image data: fails to decode
    (src / "5.png").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"5.png cannot be decoded"):
        prep.main(_args(src, out, "--overwrite"))
    assert _listing(out) == before
    assert not os.path.exists(out / prepared_folder.STAGING_DIR)


def test_a_folder_written_before_manifests_is_recognised(made, prep):
    src, out = made
    os.remove(out / "prepare_manifest.json")
    assert prepared_folder.own_files(str(out)) == {
        "dataset_info.json", "train-00000-of-00003.tfrecord",
        "train-00001-of-00003.tfrecord", "train-00002-of-00003.tfrecord"}
    prep.main(_args(src, out, "--overwrite"))
    assert "train-00002-of-00003.tfrecord" not in os.listdir(out)


@pytest.mark.parametrize("flag,value", [("--shard_size", "0"),
                                        ("--image_size", "-4"),
                                        ("--holdout", "-1")])
def test_bad_numbers_are_usage_errors(made, prep, capsys, flag, value):
    src, out = made
    before = _listing(out)
    argv = _args(src, out, "--overwrite")
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    with pytest.raises(SystemExit) as stop:
        prep.main(argv)
    assert stop.value.code == 2
    assert f"argument {flag}: must be an integer" in capsys.readouterr().err
    assert _listing(out) == before
