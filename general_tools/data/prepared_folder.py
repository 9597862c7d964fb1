"""The output folder of `datasets/prepare_image_folder.py`: which files in
it the script wrote, and replacing them without losing anything else.

The script lists every file it writes in `prepare_manifest.json` (shards
and `dataset_info.json`). With `--overwrite` it removes only those; any
other `.tfrecord` in the folder (which the loader would read as part of the
dataset) stops it before anything is removed. Folders written before the
manifest existed are recognised by their `dataset_info.json`, whose splits
list their shards.

New shards are written into a hidden staging folder inside the output
folder (`STAGING_DIR`) and moved into place only once every one is
complete, so a run that fails (a damaged input image, a full disk) leaves
the previous dataset as it was.
"""

import json
import os
import shutil

from general_tools.atomic_io import write_bytes_atomic
from general_tools.data import tfrecord_format

MANIFEST_FILE = "prepare_manifest.json"
STAGING_DIR = ".prepare_image_folder.partial"
_WRITER = "datasets/prepare_image_folder.py"
_SHARD_SUFFIXES = (".tfrecord", ".tfrecords")


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def own_files(folder):
    """Names of the files in `folder` that the script wrote there (those
    of its manifest, or of a format-1 `dataset_info.json`'s splits, plus
    that file), whether or not they still exist.

    Args:
        folder: str. an output folder.

    Returns:
        set of str.
    """
    manifest = _read_json(os.path.join(folder, MANIFEST_FILE))
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), list):
        return {os.path.basename(str(n)) for n in manifest["files"]}
    info = _read_json(os.path.join(folder, tfrecord_format.INFO_FILE))
    if not (isinstance(info, dict)
            and info.get("format") == tfrecord_format.FORMAT_NAME):
        return set()
    names = {tfrecord_format.INFO_FILE}
    for entry in (info.get("splits") or {}).values():
        if isinstance(entry, dict):
            names.update(os.path.basename(str(n))
                         for n in entry.get("shards") or [])
    return names


def check_output(input_dir, output_dir, overwrite):
    """Refuses to write into the input folder, over existing shards without
    `overwrite`, or next to shards the script did not write.

    Args:
        input_dir: str. the image folder.
        output_dir: str. the folder to write.
        overwrite: bool. whether the script's own files may be replaced.

    Returns:
        list of str. paths of the script's files to remove once the new
        ones are complete.
    """
    src = os.path.realpath(input_dir)
    dst = os.path.realpath(output_dir)
    if dst == src or dst.startswith(src + os.sep):
        raise ValueError(
            f"--output_dir '{output_dir}' is inside --input_dir "
            f"'{input_dir}'; the input folder is never written to.")
    if not os.path.isdir(dst):
        return []
    present = set(os.listdir(dst))
    ours = own_files(dst) & present
    data = sorted(f for f in present if f.endswith(_SHARD_SUFFIXES)
                  or f == tfrecord_format.INFO_FILE)
    if data and not overwrite:
        raise FileExistsError(
            f"--output_dir '{output_dir}' already holds {len(data)} shard / "
            f"info file(s) (e.g. '{data[0]}'); pass --overwrite to replace "
            "them.")
    foreign = [f for f in data if f not in ours]
    if foreign:
        raise FileExistsError(
            f"--output_dir '{output_dir}' holds {len(foreign)} file(s) this "
            f"script did not write (not listed in {MANIFEST_FILE}), e.g. "
            f"'{foreign[0]}'; --overwrite removes only the script's own "
            "files, and the loader would read these with the new shards. "
            "Move them away or choose another --output_dir.")
    return sorted(os.path.join(dst, f) for f in ours)


def staging_dir(output_dir):
    """A fresh, empty staging folder inside `output_dir` (one left by a
    killed run is removed)."""
    path = os.path.join(output_dir, STAGING_DIR)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def discard_staging(output_dir):
    """Removes the staging folder (after a failed run)."""
    shutil.rmtree(os.path.join(output_dir, STAGING_DIR), ignore_errors=True)


def _write_manifest(output_dir, names):
    write_bytes_atomic(
        os.path.join(output_dir, MANIFEST_FILE),
        (json.dumps({"written_by": _WRITER, "files": sorted(names)},
                    indent=2) + "\n").encode("utf-8"))


def publish(output_dir, shards, info, stale):
    """Replaces the script's previous files by the staged shards and
    `info`.

    The manifest lists old and new files while they are swapped, so a
    crash in between still leaves every file accounted for.

    Args:
        output_dir: str. the output folder.
        shards: list of str. names of the complete shards in the staging
            folder.
        info: dict. the `dataset_info.json` content.
        stale: list of str. paths from `check_output`.
    """
    new = set(shards) | {tfrecord_format.INFO_FILE}
    _write_manifest(output_dir, new | {os.path.basename(p) for p in stale})
    for path in stale:
        if os.path.basename(path) not in new and os.path.exists(path):
            os.remove(path)
    staging = os.path.join(output_dir, STAGING_DIR)
    for name in shards:
        os.replace(os.path.join(staging, name),
                   os.path.join(output_dir, name))
    write_bytes_atomic(os.path.join(output_dir, tfrecord_format.INFO_FILE),
                       (json.dumps(info, indent=2) + "\n").encode("utf-8"))
    _write_manifest(output_dir, new)
    discard_staging(output_dir)
