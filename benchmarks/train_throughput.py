"""
Title: Training throughput of the mixgan engine
Date: 2025-11
Purpose: real images/s and generator iterations/s of ``GAN.fit`` for two
paper setups, in eager, ``tf.function`` and XLA modes (and mixed precision
where the hardware supports it).

Setups:

* ``mnist32``: the HMoG paper's MNIST 32x32 WGAN-GP run (Ahmetoglu & Alpaydin
  2021; alper111/sdt-generative ``run.sh``). Generator: FC (Linear 100 ->
  4096, ReLU) or the 16-leaf HMoG tree, then B_s (ConvT 256 -> 128 -> 64 -> 1,
  k4 s2, tanh); critic conv 64-128-256 k4 s2 with layer norm and leaky ReLU
  0.2, dense 1; n_critic 5, batch 128, Adam-amsgrad 1e-4 (beta_1 0.5),
  GP lambda 10. One generator iteration consumes 5 x 128 real images.
* ``cifar10_mmd``: the repulsive MMD-GAN's CIFAR-10 run (Wang et al. 2019,
  richardwth/MMD-GAN ``my_test_cifar.py``): DCGAN generator from z in
  R^128, spectrally normalised 8-layer critic with a 16-d score, ``rep``
  loss, batch 64, simultaneous D/G update (one forward pass), Adam 5e-4 /
  2e-4. Random images stand in for CIFAR-10 (throughput does not depend on
  pixel values).

The authors' PyTorch code runs the MNIST-32 setup at about 0.17 generator
iterations/s on a 2-core CPU; the engine's target there is >= 0.42.

CPU notes (2-core AMD EPYC, TF 2.21; ``--generator hmog``):

* oneDNN. TensorFlow turns its oneDNN kernels on by default only on CPUs
  with AVX-512 VNNI / AMX; elsewhere (AVX2 machines such as this one) it
  falls back to Eigen, whose strided-convolution gradients are 2-4x slower.
  mixgan (``general_tools/__init__.py``, imported here before TensorFlow)
  sets ``TF_ENABLE_ONEDNN_OPTS=1`` unless the variable is already set (it
  must be set before TensorFlow is imported; run with
  ``TF_ENABLE_ONEDNN_OPTS=0`` to compare). It halves the ``tf.function``
  step (about 14 -> 7 CPU-s per generator iteration) and does not change
  the XLA step, which compiles its own convolutions.
* One generator iteration is about 317 GFLOP (5 critic steps: G forward,
  D forward/backward on real and fake, and the gradient penalty's forward,
  input gradient and double backward, about 58 GFLOP each; then the
  generator step, about 25 GFLOP); 90 % of it is convolutions. This CPU
  runs a 2048 x 2048 float32 matrix product at 74 (TensorFlow) to 87
  (NumPy) GFLOP per CPU-second, so 0.42 it/s (133 GFLOP/s on two cores)
  would need 77-90 % of that peak over the whole step. Measured with both
  cores idle: 6.7-7.5 CPU-s per iteration (42-47 GFLOP per CPU-second),
  0.26 it/s in ``tf.function`` or XLA.
* The machine may be shared: ``cpu_s_per_it`` (process CPU time) is the
  robust figure; ``gen_it_per_s_all_cores`` converts it to the rate with
  every core idle. Compare configurations back to back.

Usage::

    python benchmarks/train_throughput.py                  # all setups/modes
    python benchmarks/train_throughput.py --setups mnist32 --modes xla \\
        --steps 5 --generator hmog
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

# Before TensorFlow: mixgan's package import switches oneDNN kernels on for
# AVX2-only CPUs too (see the module docstring; an explicit
# TF_ENABLE_ONEDNN_OPTS=0 is respected).
import general_tools  # noqa: E402,F401
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deep_learning.network import architectures as arch  # noqa: E402
from deep_learning.models.gan import GAN  # noqa: E402
from deep_learning.engine.schedules import make_adam  # noqa: E402
from deep_learning.engine.training import (describe_devices,  # noqa: E402
                                    dtype_policy_scope,
                                    stack_critic_batches)

MODES = ("eager", "function", "xla", "mixed")


def _mnist32(generator, **kwargs):
    from deep_learning.models.mixture_gans import make_mixture_gan
    k = 16 if generator == "hmog" else 1
    gan = make_mixture_gan(generator, k=k, image_shape=(32, 32, 1),
                           latent_dim=100, seed=0, **kwargs)
    return gan, 128, make_adam(1e-4, amsgrad=True), make_adam(1e-4,
                                                              amsgrad=True)


def _cifar10_mmd(generator, **kwargs):
    del generator
    gan = GAN(arch.mmd_generator("cifar10"), arch.mmd_discriminator("cifar10"),
              latent_dim=128, gan_loss="rep", update="simultaneous",
              d_joint_forward=True, seed=0, **kwargs)
    return gan, 64, make_adam(5e-4), make_adam(2e-4)


SETUPS = {"mnist32": _mnist32, "cifar10_mmd": _cifar10_mmd}


def _images(setup, n):
    if setup == "mnist32":
        try:
            from general_tools.data import load_dataset
            ds = load_dataset("mnist_bundled", seed=0)
            return np.stack(list(ds.take(n).as_numpy_iterator()))
        except Exception as err:  # noqa: BLE001 - fall back to noise
            print(f"(bundled MNIST unavailable: {err}; using noise)")
            shape = (32, 32, 1)
    else:
        shape = (32, 32, 3)
    return np.random.default_rng(0).uniform(-1, 1, (n,) + shape).astype(
        np.float32)


class _Clock(keras.callbacks.Callback):
    """Wall and process CPU time at the end of every generator step."""

    def __init__(self):
        super().__init__()
        self.times = []
        self.cpu = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())
        self.cpu.append(time.process_time())


def measure(setup, mode, steps, warmup, generator="fc"):
    """Generator iterations/s and real images/s of one setup and mode."""
    mixed = mode == "mixed"
    policy = "float32"
    if mixed:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        policy = "mixed_float16" if gpu else "mixed_bfloat16"
    keras.utils.set_random_seed(0)
    with dtype_policy_scope(policy):
        gan, batch, d_opt, g_opt = SETUPS[setup](generator)
    gan.compile(d_opt, g_opt, run_eagerly=mode == "eager",
                jit_compile=mode in ("xla", "mixed"))
    per_step = batch * gan.n_critic
    images = _images(setup, max(per_step, 1024))
    ds = stack_critic_batches(
        tf.data.Dataset.from_tensor_slices(images).repeat(), batch,
        gan.n_critic).prefetch(4)
    clock = _Clock()
    start, cpu_start = time.perf_counter(), time.process_time()
    gan.fit(ds, epochs=1, steps_per_epoch=warmup + steps, verbose=0,
            callbacks=[clock])
    first = clock.times[warmup - 1] - start if warmup else 0.0
    t0 = clock.times[warmup - 1] if warmup else start
    c0 = clock.cpu[warmup - 1] if warmup else cpu_start
    its = steps / (clock.times[-1] - t0)
    cpu_per_it = (clock.cpu[-1] - c0) / steps
    # Per-iteration CPU times: the minimum is the least disturbed by other
    # jobs on a shared machine.
    per_it = np.diff([c0] + clock.cpu[warmup:])
    cores = len(os.sched_getaffinity(0))
    return {"setup": setup, "mode": mode, "policy": policy,
            "generator": generator if setup == "mnist32" else "dcgan",
            "batch": batch, "n_critic": gan.n_critic, "steps": steps,
            "gen_it_per_s": its, "real_images_per_s": its * per_step,
            "cpu_s_per_it": cpu_per_it,
            "cpu_s_per_it_min": float(per_it.min()),
            # What the same work gives when the process has every core to
            # itself (the wall-clock figure suffers on a shared machine).
            "gen_it_per_s_all_cores": cores / cpu_per_it,
            "warmup_s": first}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setups", default="mnist32,cifar10_mmd",
                        help="comma-separated: " + ", ".join(SETUPS))
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated: " + ", ".join(MODES))
    parser.add_argument("--steps", type=int, default=5,
                        help="timed generator iterations per run")
    parser.add_argument("--eager-steps", type=int, default=1,
                        help="timed iterations in eager mode (slow)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed iterations (tracing, XLA compile)")
    parser.add_argument("--generator", default="fc",
                        choices=("fc", "hmog"),
                        help="MNIST-32 generator: FC or the 16-leaf HMoG")
    parser.add_argument("--mixed-on-cpu", action="store_true",
                        help="also run mixed_bfloat16 on CPU (slow without "
                             "native bfloat16)")
    parser.add_argument("--json", default=None, help="write results here")
    args = parser.parse_args(argv)
    setups = [s for s in args.setups.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for name, valid in (("setup", SETUPS), ("mode", MODES)):
        bad = [x for x in (setups if name == "setup" else modes)
               if x not in valid]
        if bad:
            parser.error(f"unknown {name}(s) {bad}; valid: {list(valid)}")
    gpu = bool(tf.config.list_physical_devices("GPU"))
    print(f"device: {describe_devices()}; TF {tf.__version__}, "
          f"Keras {keras.__version__}; TF_ENABLE_ONEDNN_OPTS="
          f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    results = []
    for setup in setups:
        for mode in modes:
            if mode == "mixed" and not (gpu or args.mixed_on_cpu):
                print(f"{setup:12s} {mode:9s} skipped (no GPU; "
                      "--mixed-on-cpu to force bfloat16)")
                continue
            steps = args.eager_steps if mode == "eager" else args.steps
            r = measure(setup, mode, steps, args.warmup, args.generator)
            results.append(r)
            print(f"{setup:12s} {mode:9s} {r['policy']:15s} "
                  f"{r['gen_it_per_s']:8.3f} gen it/s  "
                  f"{r['real_images_per_s']:9.1f} real img/s  "
                  f"{r['cpu_s_per_it']:7.2f} CPU-s/it "
                  f"(min {r['cpu_s_per_it_min']:.2f}; "
                  f"<= {r['gen_it_per_s_all_cores']:.3f} it/s on idle "
                  f"cores; warm-up {r['warmup_s']:.1f} s, {steps} steps)",
                  flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"device": describe_devices(),
                       "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                       "results": results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()
