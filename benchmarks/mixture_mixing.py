"""Mixing leaf outputs vs mixing leaf weights in the HMoG/MoG layer.

h = sum_m pi_m (W_m z + b_m) can be computed either by one GEMM over all
leaves followed by a weighted sum of the outputs (what
``deep_learning.models.mixture_layers.TreeMixture`` does), or by mixing the weights first,
(sum_m pi_m W_m) z, as the authors' PyTorch code does. This prints the time
of a forward + backward pass of each.

    python benchmarks/mixture_mixing.py --leaves 16 --batch 128
"""

import argparse
import os
import sys
import time

import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
from general_tools.machine import describe_cpu  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--leaves", type=int, default=16)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--z", type=int, default=100)
    p.add_argument("--units", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args()
    gpus = tf.config.list_physical_devices("GPU")
    print(f"{len(gpus)} GPU(s); " if gpus else "", end="")
    print(f"CPU: {describe_cpu()}")
    w = tf.Variable(tf.random.normal([a.z, a.leaves * a.units], stddev=0.1))
    b = tf.Variable(tf.zeros([a.leaves, a.units]))
    z = tf.random.normal([a.batch, a.z])
    pi = tf.nn.softmax(tf.random.normal([a.batch, a.leaves]))

    @tf.function
    def mix_outputs():
        with tf.GradientTape() as tape:
            out = tf.reshape(z @ w, [-1, a.leaves, a.units]) + b
            h = tf.einsum("bl,blu->bu", pi, out)
            loss = tf.reduce_sum(h ** 2)
        return tape.gradient(loss, [w, b])

    @tf.function
    def mix_weights():
        with tf.GradientTape() as tape:
            w3 = tf.reshape(w, [a.z, a.leaves, a.units])
            wm = tf.einsum("bl,zlu->bzu", pi, w3)  # (B, z, units)
            h = tf.einsum("bz,bzu->bu", z, wm) + pi @ b
            loss = tf.reduce_sum(h ** 2)
        return tape.gradient(loss, [w, b])

    for name, fn in [("mix leaf outputs", mix_outputs),
                     ("mix leaf weights", mix_weights)]:
        fn()
        t0 = time.perf_counter()
        for _ in range(a.repeats):
            grads = fn()
        _ = [g.numpy() for g in grads]
        ms = 1000 * (time.perf_counter() - t0) / a.repeats
        print(f"{name:18s} leaves={a.leaves} batch={a.batch}: {ms:8.1f} ms "
              "per forward+backward")


if __name__ == "__main__":
    main()
