"""Atomic file writes: readers see the old file or the complete new one,
never a half-written one (checkpoint metadata, configs, caches, figures)."""

import os


def write_bytes_atomic(path, data):
    """Writes ``data`` (bytes) to ``path`` through a temporary file in the
    same folder, ``fsync`` and ``os.replace``; creates the folder if needed
    and removes the temporary file on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
