"""What machine a figure was measured on.

Speed figures differ several-fold between CPUs of one cloud (oneDNN uses
AVX-512 and AMX where they exist: the same training benchmark runs about
1.5x the authors' PyTorch on an AMD EPYC with AVX2 and 2.8x on an Intel
Xeon with AVX-512 and AMX), so every benchmark prints
:func:`describe_cpu` beside its figures.
"""

import os
import platform

__all__ = ["describe_cpu"]


def _first_processor(text):
    """``{key: value}`` of the first processor of a ``/proc/cpuinfo``."""
    info = {}
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def describe_cpu(cpuinfo=None):
    """The CPU's model, family and vector extensions and the cores this
    process may use, e.g. ``'AMD EPYC (family 25, model 17; AVX2,
    AVX-512), 2 cores'``.

    Args:
        cpuinfo: str or None. Text of ``/proc/cpuinfo``; None reads it
            (on systems without it, the platform's processor name).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    info = _first_processor(cpuinfo)
    name = info.get("model name") or platform.processor() or "unknown CPU"
    flags = set(info.get("flags", "").split())
    extensions = [label for flag, label in (
        ("avx2", "AVX2"), ("avx512f", "AVX-512"), ("amx_tile", "AMX"))
        if flag in flags]
    detail = [f"family {info['cpu family']}, model {info['model']}"] if \
        "cpu family" in info and "model" in info else []
    if extensions:
        detail.append(", ".join(extensions))
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, "sched_getaffinity") else os.cpu_count()
    return (f"{name}" + (f" ({'; '.join(detail)})" if detail else "")
            + f", {cores} cores")
