"""
Title: the repulsive MMD-GAN's loss comparison on MNIST 32x32
Date: 2026-11-23
Paper: Wang, Sun & Halgamuge, "Improving MMD-GAN Training with Repulsive
    Loss Function", ICLR 2019 (richardwth/MMD-GAN), Table 1's comparison of
    losses with one spectrally normalised DCGAN.
Purpose: train the same spectrally normalised DCGAN with ``rep``, ``rmb``,
    ``mmd`` (attractive, Gaussian kernels sigma in {1, sqrt 2, 2, sqrt 8,
    4}) and ``hinge`` over several seeds on the bundled MNIST (8,000
    training images), score each run on the 2,000 held-out images (FID and
    5-NN on the domain classifier's features) and count the runs that
    diverged (a non-finite loss stops a run).

    python my_tests/my_test_mmd_mnist.py --steps 300 --shard 0/2 &
    python my_tests/my_test_mmd_mnist.py --steps 300 --shard 1/2 &
    wait
    python my_tests/my_test_mmd_mnist.py --report

Each run's scores land in ``docs/results/mmd_mnist_scores/<loss>_s<seed>.json``
(``--scores``, committed with the results); a run whose file exists is
skipped, so seeds can be added later without re-running the others. Point
``--scores`` at an empty folder to start afresh.

A 4-layer version of the repository's CIFAR-10 DCGAN fits a CPU: generator
z in R^128 -> 4x4x256 -> ConvT k4 s2 128 -> 64 -> 1 (batch norm, ReLU,
tanh); discriminator Conv k4 s2 64 -> 128 -> 256 (leaky ReLU 0.1), dense
16-d score, every layer spectrally normalised on the convolution operator
with the scripts' multiplier C = 64^(1/L) (L = 4). The repository's
CIFAR-10 settings otherwise: batch 64, Adam (0.5, 0.999), TTUR 5e-4 / 2e-4,
both networks updated from one forward pass.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

# ---- architecture (edit here) ----------------------------------------------
C = 64 ** (1 / 4)
SN = {"w_nm": "s", "act_k": C}
LRELU = ["lrelu", 0.1]
ARCHITECTURE = {
    "input": (32, 32, 1),
    "code": 128,
    "generator": [
        {"name": "g1", "op": "d", "out": 4 * 4 * 256,
         "out_reshape": [4, 4, 256]},
        {"name": "g2_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g3_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g4_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
         "act": "tanh"},
    ],
    "discriminator": [
        {"name": "d1_ds", "op": "c", "out": 64, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "d2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
         "act": LRELU, **SN},
        {"name": "d3_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
         "act": LRELU, "out_reshape": [4 * 4 * 256], **SN},
        {"name": "d4_s", "op": "d", "out": 16, **SN},
    ],
}
SETTINGS = "cifar10"  # learning rates of the repository's CIFAR-10 runs
DATASET = "mnist_bundled"

FLAGS = flags.FLAGS
flags.DEFINE_list("losses", ["rep", "rmb", "mmd", "hinge"], "GAN losses")
flags.DEFINE_list("seeds", ["0", "1", "2"], "seeds")
flags.DEFINE_integer("steps", 1000, "generator steps of every run")
flags.DEFINE_integer("batch_size", 64, "batch size")
flags.DEFINE_integer("num", 2000, "generated images per score")
flags.DEFINE_string("shard", "0/1", "I/N: every N-th run from the I-th")
flags.DEFINE_integer("threads", 1, "intra-op threads (0: TensorFlow's)")
flags.DEFINE_string("root", "Results/mmd_mnist", "run folders")
flags.DEFINE_string("scores", "docs/results/mmd_mnist_scores",
                    "per-run score files (a run whose file exists is skipped)")
flags.DEFINE_bool("report", False, "only summarise the scores")
flags.DEFINE_string("json_out", "docs/results/mmd_mnist.json",
                    "report: summary JSON")


def main(argv):
    del argv
    import json

    from deep_learning.experiments import study
    scores_dir = FLAGS.scores
    if FLAGS.report:
        from general_tools.atomic_io import write_bytes_atomic
        rows = study.load_scores(scores_dir)
        order = {loss: i for i, loss in enumerate(FLAGS.losses)}
        table = sorted(
            study.summarise(rows, ("loss",),
                            ("fid", "knn_accuracy", "knn_real_fraction",
                             "knn_fake_fraction"), per_seed=("fid",)),
            key=lambda e: order.get(e["loss"], len(order)))
        print("| loss | FID | FID per seed | 5-NN acc | 5-NN real | "
              "5-NN fake | non-finite stops | s/run |")
        print("|---|---|---|---|---|---|---|---|")
        for e in table:
            seeds = ", ".join("NaN" if v is None else f"{v:.1f}"
                              for v in e["fid_per_seed"].values())
            print(f"| {e['loss']} | {study.mean_std(e.get('fid'), 1)} | "
                  f"{seeds} | "
                  f"{study.mean_std(e.get('knn_accuracy'))} | "
                  f"{study.mean_std(e.get('knn_real_fraction'))} | "
                  f"{study.mean_std(e.get('knn_fake_fraction'))} | "
                  f"{e['diverged']}/{e['n']} | {e['wall_s']:.0f} |")
        write_bytes_atomic(FLAGS.json_out,
                           (json.dumps(table, indent=2) + "\n").encode())
        return
    from deep_learning.tools.evaluate import make_extractor
    from deep_learning.experiments.mmd import run_mmd_experiment
    study.limit_threads(FLAGS.threads)
    make_extractor("domain", dataset=DATASET, image_size=32)
    grid = [(loss, int(seed)) for seed in FLAGS.seeds for loss in FLAGS.losses]
    for loss, seed in study.shard(grid, FLAGS.shard):
        def train(loss=loss, seed=seed):
            return run_mmd_experiment(
                ARCHITECTURE, dataset=SETTINGS, data_name=DATASET,
                steps=FLAGS.steps, batch_size=FLAGS.batch_size,
                gan_loss=loss, seed=seed,
                root=os.path.join(FLAGS.root, "runs"),
                run_dir=os.path.join(FLAGS.root, "runs", f"{loss}_s{seed}"),
                steps_per_epoch=min(500, FLAGS.steps),
                checkpoint_every=FLAGS.steps, image_every=FLAGS.steps,
                verbose=2)

        study.run_and_score(f"{loss}_s{seed}", scores_dir, train,
                            metrics="fid,knn", num=FLAGS.num,
                            reference=f"{DATASET}:test", loss=loss, seed=seed,
                            batch_size=FLAGS.batch_size)


if __name__ == "__main__":
    app.run(main)
