"""
Title: One-command GPU battery (throughput, memory, FLOP utilisation, numerics)
Date: 2026-12
Purpose: everything worth knowing about a GPU in one prepared run of at most
eight minutes, since GPU time comes in minutes.

What it measures, for two paper setups (``benchmarks/train_throughput.py``
describes them): the HMoG paper's MNIST-32 **HMoG-16 WGAN-GP** run (batch
128, n_critic 5) and the repulsive MMD-GAN's **CIFAR-10 ``rep``** run
(batch 64, one joint D/G step), each in four settings -- ``float32``,
``mixed_float16``, ``float32`` + XLA and ``mixed_float16`` + XLA:

* generator iterations/s and real images/s (after ``--warmup`` untimed
  iterations, which include tracing and XLA compilation);
* peak GPU memory of the setting (``tf.config.experimental.get_memory_info``
  after ``reset_memory_stats``; on a CPU the process's peak RSS instead);
* model FLOP utilisation: FLOPs of one generator iteration (TensorFlow's
  graph profiler over the traced train step: every critic step's forwards,
  backwards and gradient-penalty double backward, and the generator step)
  times iterations/s, over the device's dense peak for the precision (TF32
  tensor cores for ``float32``, since TensorFlow uses TF32 on Ampere and
  newer; FP16 for ``mixed_float16``; ``--peak_tflops`` overrides; on a CPU
  the peak is a measured 2048x2048 float32 matmul, so the figure is a
  fraction of what this CPU reaches on a plain matrix product);
* a numerics check: ``mixed_float16`` against ``float32`` on the MNIST-32
  setup from one seed and one data order. (1) Forward: the losses and
  critic scores of the first batch under the same initial weights
  (``evaluate``), where only float16 rounding differs, agree to 1e-2 of
  the largest of them in magnitude (WGAN losses are differences of
  scores near zero at the start, so a per-value relative error would
  measure cancellation, not precision). (2) Training: ``--numerics_steps``
  (200) steps with the per-step losses recorded; the curves' 20-step
  window means stay within 10 % of the ``float32`` curve's range of each
  other (they do not agree step for step: GAN training amplifies
  rounding, and the dynamic loss scale skips the first updates that
  overflow in float16). The number of skipped updates is reported.

It prints a table, names the fastest setting per setup, and writes JSON
(``--json``; default ``Results/benchmarks/gpu_battery_<time>.json``, never
an existing file). The output names the GPU and the CPU.

``--smoke`` runs the same code path on a CPU with batch 4, n_critic 1 for
the MNIST-32 setup (a fifth of its graph to trace and compile), one
warm-up and one timed iteration and a 4-step numerics check, in about two
minutes (CI runs it); its figures mean nothing.

Usage::

    python benchmarks/gpu_battery.py                 # on the GPU machine
    python benchmarks/gpu_battery.py --smoke --json /tmp/battery.json
"""

import argparse
import datetime
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import train_throughput as throughput  # noqa: E402
from deep_learning.engine.training import (describe_devices,  # noqa: E402
                                           dtype_policy_scope,
                                           stack_critic_batches)
from general_tools.machine import describe_cpu  # noqa: E402

SETUPS = {"mnist32_hmog16": ("mnist32", "hmog"),
          "cifar10_mmd_rep": ("cifar10_mmd", "dcgan")}
SETTINGS = (("float32", False), ("mixed_float16", False),
            ("float32", True), ("mixed_float16", True))
# Dense peak TFLOP/s (TF32 tensor cores, FP16 tensor cores) of the GPUs
# this battery may meet, from the vendors' data sheets (sparsity excluded).
GPU_PEAKS = (("H200", 494.7, 989.4), ("H100", 494.7, 989.4),
             ("A100", 156.0, 312.0), ("L40S", 183.0, 362.0),
             ("L4", 60.0, 121.0), ("A10", 62.5, 125.0),
             ("V100", 15.7, 125.0), ("T4", 8.1, 65.0))
FORWARD_TOL = 1e-2
WINDOW = 20
WINDOW_TOL = 0.10


def _setting_name(policy, xla):
    return policy + (" + XLA" if xla else "")


def _build(setup, batch=None, policy="float32", xla=False, smoke=False):
    """A compiled GAN of ``setup`` under ``policy`` and its batch size
    (``smoke``: one critic step per generator step)."""
    name, generator = SETUPS[setup]
    shrink = {"n_critic": 1} if smoke and name == "mnist32" else {}
    keras.utils.set_random_seed(0)
    with dtype_policy_scope(policy):
        gan, default_batch, d_opt, g_opt = throughput.SETUPS[name](
            generator, **shrink)
        gan.compile(d_opt, g_opt, jit_compile=xla)
    return gan, batch or default_batch


_IMAGES = {}


def _dataset(setup, batch, n_critic):
    """The setup's images, the same ones in the same order every time (the
    bundled-MNIST pipeline reshuffles on every call)."""
    if setup not in _IMAGES:
        _IMAGES[setup] = throughput._images(SETUPS[setup][0], 1280)
    images = _IMAGES[setup]
    return stack_critic_batches(
        tf.data.Dataset.from_tensor_slices(images).repeat(), batch,
        n_critic).prefetch(4)


def train_step_flops(setup, batch, smoke=False):
    """FLOPs of one generator iteration (float32 graph of ``train_step``)."""
    from tensorflow.python.profiler import model_analyzer, option_builder
    gan, batch = _build(setup, batch, smoke=smoke)
    spec = _dataset(setup, batch, gan.n_critic).element_spec
    graph = tf.function(gan.train_step).get_concrete_function(spec).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(model_analyzer.profile(graph, options=options).total_float_ops)


def device_peaks(gpu_name):
    """``{policy: peak FLOP/s, 'source': ...}`` of the device."""
    if gpu_name:
        for key, tf32, fp16 in GPU_PEAKS:
            if key in gpu_name:
                return {"float32": tf32 * 1e12, "mixed_float16": fp16 * 1e12,
                        "source": f"{key} data sheet (dense TF32 / FP16)"}
        return {"float32": None, "mixed_float16": None,
                "source": f"unknown GPU {gpu_name!r}: pass --peak_tflops"}
    n = 2048
    a = tf.random.normal((n, n))
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    start = time.perf_counter()
    for _ in range(5):
        matmul(a).numpy()
    rate = 5 * 2 * n ** 3 / (time.perf_counter() - start)
    return {"float32": rate, "mixed_float16": rate,
            "source": "measured 2048x2048 float32 matmul on this CPU"}


class _Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def _peak_memory(gpu):
    if gpu:
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(setup, policy, xla, steps, warmup, batch=None, gpu=False,
            smoke=False):
    """Throughput and peak memory of one setup and setting."""
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    gan, batch = _build(setup, batch, policy, xla, smoke)
    clock = _Clock()
    start = time.perf_counter()
    gan.fit(_dataset(setup, batch, gan.n_critic), epochs=1,
            steps_per_epoch=warmup + steps, verbose=0, callbacks=[clock])
    t0 = clock.times[warmup - 1] if warmup else start
    its = steps / (clock.times[-1] - t0)
    return {"setup": setup, "setting": _setting_name(policy, xla),
            "policy": policy, "xla": xla, "batch": batch,
            "n_critic": gan.n_critic, "steps": steps,
            "gen_it_per_s": its,
            "real_images_per_s": its * batch * gan.n_critic,
            "peak_memory_mib": _peak_memory(gpu),
            "memory_kind": "GPU peak" if gpu else "process peak RSS",
            "warmup_s": (t0 - start) if warmup else 0.0}


class _StepLosses(keras.callbacks.Callback):
    """Per-step losses (one step per epoch, so Keras' means are the step's
    own values)."""

    def __init__(self):
        super().__init__()
        self.d, self.g = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.d.append(float(np.asarray(logs["loss/d"])))
        self.g.append(float(np.asarray(logs["loss/g"])))


def loss_curves(policy, steps, batch=None, smoke=False):
    """The first batch's forward logs and the per-step ``loss/d`` and
    ``loss/g`` of ``steps`` training steps of the MNIST-32 setup."""
    setup = "mnist32_hmog16"
    gan, batch = _build(setup, batch, policy, smoke=smoke)
    data = _dataset(setup, batch, gan.n_critic)
    forward = gan.evaluate(data.take(1), verbose=0, return_dict=True)
    losses = _StepLosses()
    gan.fit(data, epochs=steps, steps_per_epoch=1, verbose=0,
            callbacks=[losses])
    # Updates the dynamic loss scale skipped: the optimiser's iteration
    # counter does not advance on them.
    done = int(np.asarray(gan.d_optimizer.iterations))
    return {"forward": {k: float(np.asarray(v)) for k, v in forward.items()},
            "loss/d": losses.d, "loss/g": losses.g,
            "d_updates_skipped": steps * gan.n_critic - done}


def compare_curves(reference, candidate, window=WINDOW):
    """The numerics check's figures and verdict (module docstring)."""
    keys = sorted(set(reference["forward"]) & set(candidate["forward"]))
    scale = max(max(abs(reference["forward"][k]) for k in keys), 1e-8)
    forward = max(abs(candidate["forward"][k] - reference["forward"][k])
                  for k in keys) / scale
    out = {"forward_tolerance": FORWARD_TOL, "window": window,
           "window_tolerance": WINDOW_TOL,
           "forward_max_difference_over_scale": float(forward),
           "forward_passed": bool(forward <= FORWARD_TOL),
           "d_updates_skipped": candidate["d_updates_skipped"]}
    out["passed"] = out["forward_passed"]
    for key in ("loss/d", "loss/g"):
        ref, cand = np.asarray(reference[key]), np.asarray(candidate[key])
        finite = bool(np.isfinite(cand).all() and np.isfinite(ref).all())
        w = max(1, min(window, len(ref)))
        n = len(ref) // w * w
        means_ref = ref[:n].reshape(-1, w).mean(axis=1)
        means_cand = cand[:n].reshape(-1, w).mean(axis=1)
        spread = max(float(ref.max() - ref.min()), 1e-8)
        drift = float(np.abs(means_cand - means_ref).max()) / spread
        ok = bool(finite and drift <= WINDOW_TOL)
        out[key] = {"max_window_difference_over_range": drift,
                    "finite": finite, "passed": ok}
        out["passed"] = out["passed"] and ok
    return out


def _default_json():
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("Results", "benchmarks", f"gpu_battery_{stamp}.json")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="same code path on a CPU, tiny sizes (CI)")
    parser.add_argument("--steps", type=int, default=20,
                        help="timed generator iterations per setting")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed iterations (tracing, XLA compile)")
    parser.add_argument("--numerics_steps", type=int, default=200)
    parser.add_argument("--peak_tflops", type=float, default=None,
                        help="device peak for the utilisation (both "
                             "precisions); default: the data sheet")
    parser.add_argument("--budget_s", type=float, default=420.0,
                        help="skip the settings left when this much time "
                             "has passed (the numerics check runs first)")
    parser.add_argument("--json", default=None,
                        help="output file (must not exist); default "
                             "Results/benchmarks/gpu_battery_<time>.json")
    args = parser.parse_args(argv)
    for flag in ("steps", "warmup", "numerics_steps"):
        if getattr(args, flag) < (0 if flag == "warmup" else 1):
            parser.error(f"argument --{flag}: must be positive")
    path = args.json or _default_json()
    if os.path.exists(path):
        parser.error(f"argument --json: {path} exists; choose a new file")
    batch = None
    if args.smoke:
        batch, args.steps, args.warmup = 4, 1, 1
        args.numerics_steps = 4
    began = time.perf_counter()
    gpus = tf.config.list_physical_devices("GPU")
    gpu_name = (tf.config.experimental.get_device_details(gpus[0]).get(
        "device_name", gpus[0].name) if gpus else None)
    header = {"device": describe_devices(), "gpu": gpu_name,
              "cpu": describe_cpu(), "tensorflow": tf.__version__,
              "keras": keras.__version__, "smoke": args.smoke,
              "tf32": bool(tf.config.experimental
                           .tensor_float_32_execution_enabled())}
    print(f"device: {header['device']}; TF {tf.__version__}, Keras "
          f"{keras.__version__}", flush=True)
    peaks = device_peaks(gpu_name)
    if args.peak_tflops:
        peaks = {"float32": args.peak_tflops * 1e12,
                 "mixed_float16": args.peak_tflops * 1e12,
                 "source": "--peak_tflops"}

    numerics_steps = args.numerics_steps
    reference = loss_curves("float32", numerics_steps, batch, args.smoke)
    candidate = loss_curves("mixed_float16", numerics_steps, batch,
                            args.smoke)
    numerics = {"steps": numerics_steps,
                **compare_curves(reference, candidate),
                "curves": {"float32": reference, "mixed_float16": candidate}}
    print(f"numerics (mixed_float16 vs float32, {numerics_steps} steps): "
          f"{'PASS' if numerics['passed'] else 'FAIL'}; forward "
          f"{numerics['forward_max_difference_over_scale']:.2e} of the "
          f"largest value (tol {FORWARD_TOL:g}); "
          f"{numerics['d_updates_skipped']} critic updates skipped by the "
          f"loss scale; window means "
          f"d {numerics['loss/d']['max_window_difference_over_range']:.3f}, "
          f"g {numerics['loss/g']['max_window_difference_over_range']:.3f} "
          f"of the range (tol {WINDOW_TOL:g})"
          + (" [smoke: too few steps for the curves to mean anything]"
             if args.smoke else ""), flush=True)

    results, skipped = [], []
    print(f"{'setup':16s} {'setting':22s} {'gen it/s':>9s} "
          f"{'real img/s':>11s} {'TFLOP/s':>8s} {'MFU':>7s} "
          f"{'memory MiB':>11s} {'warm-up s':>9s}", flush=True)
    for setup in SETUPS:
        flops = train_step_flops(setup, batch, args.smoke)
        for policy, xla in SETTINGS:
            if time.perf_counter() - began > args.budget_s:
                skipped.append(f"{setup} {_setting_name(policy, xla)}")
                continue
            r = measure(setup, policy, xla, args.steps, args.warmup, batch,
                        gpu=bool(gpus), smoke=args.smoke)
            r["flops_per_it"] = flops
            r["achieved_tflops"] = flops * r["gen_it_per_s"] / 1e12
            peak = peaks[policy]
            r["mfu"] = flops * r["gen_it_per_s"] / peak if peak else None
            results.append(r)
            mfu = f"{100 * r['mfu']:6.2f}%" if r["mfu"] is not None else \
                f"{'n/a':>7s}"
            print(f"{setup:16s} {r['setting']:22s} {r['gen_it_per_s']:9.3f} "
                  f"{r['real_images_per_s']:11.1f} "
                  f"{r['achieved_tflops']:8.3f} {mfu} "
                  f"{r['peak_memory_mib']:11.1f} {r['warmup_s']:9.1f}",
                  flush=True)
    fastest = {}
    for setup in SETUPS:
        rows = [r for r in results if r["setup"] == setup]
        if rows:
            best = max(rows, key=lambda r: r["gen_it_per_s"])
            fastest[setup] = best["setting"]
            print(f"fastest for {setup}: {best['setting']} "
                  f"({best['gen_it_per_s']:.3f} gen it/s)")
    if skipped:
        print(f"skipped (over --budget_s {args.budget_s:g}): "
              f"{', '.join(skipped)}")
    out = {**header, "peaks": peaks, "numerics": numerics,
           "results": results, "fastest": fastest, "skipped": skipped,
           "seconds": time.perf_counter() - began}
    text = json.dumps(out, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} ({out['seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
