"""
Title: the MNIST mixture comparison (HMoG paper, Sec. IV-B and Fig. 9)
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004).
Purpose: train FC, MoG, HMoG, MEGAN, MADGAN and MGAN with 8 and 16
    generators over several seeds on the bundled MNIST (8,000 training
    images, 32x32), all for the same number of generator iterations, score
    each on the 2,000 held-out images and write the table and the
    score-vs-parameters figure of ``docs/results.md``.

    # the grid, split over two processes of one thread each (2-core CPU)
    python my_tests/my_test_mixtures_study.py --shard 0/2 &
    python my_tests/my_test_mixtures_study.py --shard 1/2 &
    wait
    # table, JSON and figure from the per-run scores
    python my_tests/my_test_mixtures_study.py --report

The networks are those of ``my_test_mixtures_mnist.py`` (B_s and D dicts,
the authors' objectives: WGAN-GP n_critic 5 for FC/MoG/HMoG, non-saturating
n_critic 5 with load balancing for MEGAN, (K+1)-way D with n_critic 1 for
MADGAN and MGAN; Adam-amsgrad 1e-4). Scores: FID and the 5-NN leave-one-out
real/fake fractions on the domain classifier's features (a CNN trained on
the 8,000 training images), MS-SSIM between random sample pairs. Every run
is a normal run folder (TensorBoard logs, checkpoints, resumable), and its
scores land in ``<out>/scores/<model><k>_s<seed>.json``; a finished run is
skipped, so an interrupted grid continues where it stopped.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import my_test_mixtures_mnist as arch  # noqa: E402  (B_S, D, H_SHAPE)

MODELS = ("fc", "mog", "hmog", "megan", "madgan", "mgan")
FLAGS = flags.FLAGS
flags.DEFINE_list("models", list(MODELS), "models of the grid")
flags.DEFINE_list("ks", ["8", "16"], "numbers of generators (FC: one run)")
flags.DEFINE_list("seeds", ["0", "1", "2"], "seeds")
flags.DEFINE_integer("study_steps", 150, "generator iterations of every run")
flags.DEFINE_integer("batch", 64, "batch size (the paper: 128)")
flags.DEFINE_integer("num", 2000, "generated images per score")
flags.DEFINE_integer("msssim_pairs", 250, "sample pairs for MS-SSIM")
flags.DEFINE_string("shard", "0/1", "I/N: run every N-th job from the I-th")
flags.DEFINE_integer("threads", 1, "intra-op threads (0: TensorFlow's)")
flags.DEFINE_string("root", "Results/mnist_study", "run folders and scores")
flags.DEFINE_bool("report", False, "only aggregate the scores")
flags.DEFINE_string("json_out", "docs/results/mnist_mixtures.json",
                    "report: aggregated JSON")
flags.DEFINE_string("figure_out", "docs/figures/mnist_mixtures_fid.png",
                    "report: FID vs generator parameters")
flags.DEFINE_list("figure_runs", ["hmog16_s0", "mog16_s0", "megan16_s0",
                                  "madgan16_s0", "mgan16_s0", "fc_s0"],
                  "runs whose per-generator figures are written")

DATASET = "mnist_bundled"


def jobs():
    """(model, k, seed, name) of the whole grid, FC once per seed."""
    out = []
    for seed in (int(s) for s in FLAGS.seeds):
        for model in FLAGS.models:
            for k in ([8] if model == "fc" else [int(k) for k in FLAGS.ks]):
                name = f"fc_s{seed}" if model == "fc" else \
                    f"{model}{k}_s{seed}"
                out.append((model, k, seed, name))
    return out


def run_job(model, k, seed, name):
    from deep_learning import evaluate
    from deep_learning.mixture_gans import run_mixture_study
    from general_tools.atomic_io import write_bytes_atomic

    score_file = os.path.join(FLAGS.root, "scores", f"{name}.json")
    if os.path.exists(score_file):
        print(f"{name}: scored already ({score_file})")
        return
    start = time.time()
    run = run_mixture_study(
        model, k, arch.B_S, arch.D, arch.H_SHAPE, dataset=DATASET,
        steps=FLAGS.study_steps, image_size=32, batch_size=FLAGS.batch,
        lr=arch.CONFIG["lr"], latent_dim=arch.CONFIG["latent_dim"],
        seed=seed, root=os.path.join(FLAGS.root, "runs"),
        figures=name in FLAGS.figure_runs, figure_samples=2000,
        config={"script": "my_test_mixtures_study"})
    train_s = time.time() - start
    if run.stop_message is not None:
        result = {"scores": {}, "stopped": run.stop_message}
    else:
        result, _ = evaluate.evaluate_run(
            run.paths.root, metrics="fid,knn,msssim", num=FLAGS.num,
            reference=f"{DATASET}:test", msssim_pairs=FLAGS.msssim_pairs,
            overwrite=True)
    generator = run.model.generator
    result.update(
        model=model, k=1 if model == "fc" else k, seed=seed,
        steps=int(run.step), batch_size=FLAGS.batch,
        g_params=int(generator.count_params()),
        d_params=int(run.model.discriminator.count_params()),
        wall_s=round(train_s, 1), run_dir=run.paths.root)
    write_bytes_atomic(score_file,
                       (json.dumps(result, indent=2) + "\n").encode())
    print(f"{name}: {result['scores']} in {train_s:.0f} s")


def report():
    import numpy as np

    folder = os.path.join(FLAGS.root, "scores")
    rows = {}
    for file in sorted(os.listdir(folder)):
        with open(os.path.join(folder, file)) as f:
            r = json.load(f)
        rows.setdefault((r["model"], r["k"]), []).append(r)
    table = []
    order = {m: i for i, m in enumerate(MODELS)}
    for (model, k), runs in sorted(rows.items(),
                                   key=lambda kv: (order[kv[0][0]], kv[0][1])):
        scored = [r for r in runs if r["scores"]]

        def stat(key, runs=scored):
            v = np.array([r["scores"][key] for r in runs])
            return [float(v.mean()), float(v.std()) if len(v) > 1 else 0.0]

        entry = {"model": model, "k": k, "seeds": [r["seed"] for r in runs],
                 "diverged": len(runs) - len(scored),
                 "steps": runs[0]["steps"], "batch": runs[0]["batch_size"],
                 "g_params": runs[0]["g_params"],
                 "wall_s": float(np.mean([r["wall_s"] for r in runs]))}
        if scored:
            entry.update(fid=stat("fid"), knn_real=stat("knn_real_fraction"),
                         knn_fake=stat("knn_fake_fraction"),
                         knn_acc=stat("knn_accuracy"),
                         msssim=stat("msssim_fake"),
                         msssim_real=stat("msssim_real"))
        table.append(entry)
    print("| model | K | G params | FID | 5-NN real | 5-NN fake | 5-NN acc "
          "| MS-SSIM | s/run | seeds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in table:
        if "fid" not in e:
            print(f"| {e['model']} | {e['k']} | {e['g_params']:,} | diverged "
                  "| | | | | | |")
            continue
        f = lambda m: f"{m[0]:.3f} ± {m[1]:.3f}"  # noqa: E731
        print(f"| {e['model'].upper()} | {e['k']} | {e['g_params']:,} | "
              f"{e['fid'][0]:.1f} ± {e['fid'][1]:.1f} | {f(e['knn_real'])} | "
              f"{f(e['knn_fake'])} | {f(e['knn_acc'])} | {f(e['msssim'])} | "
              f"{e['wall_s']:.0f} | {len(e['seeds'])} |")
    real = [e["msssim_real"][0] for e in table if "msssim_real" in e]
    if real:
        print(f"MS-SSIM of real pairs: {np.mean(real):.3f}")
    from general_tools.atomic_io import write_bytes_atomic
    write_bytes_atomic(FLAGS.json_out,
                       (json.dumps(table, indent=2) + "\n").encode())
    _figure(table)


def _figure(table):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    markers = {8: "o", 16: "s", 1: "D"}
    for model in MODELS:
        pts = [e for e in table if e["model"] == model and "fid" in e]
        if not pts:
            continue
        line = ax.errorbar([e["g_params"] for e in pts],
                           [e["fid"][0] for e in pts],
                           yerr=[e["fid"][1] for e in pts], capsize=3,
                           label=model.upper(), linestyle="-")
        for e in pts:
            ax.plot(e["g_params"], e["fid"][0], markers.get(e["k"], "o"),
                    color=line[0].get_color())
    ax.set_xscale("log")
    ax.set_xlabel("generator parameters (circle: K=8, square: K=16)")
    ax.set_ylabel("FID (domain-classifier features)")
    ax.set_title("MNIST 32x32, bundled 8k train / 2k held out")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(FLAGS.figure_out) or ".", exist_ok=True)
    fig.savefig(FLAGS.figure_out, dpi=120)
    print(f"figure: {FLAGS.figure_out}")


def main(argv):
    del argv
    if FLAGS.report:
        report()
        return
    import tensorflow as tf
    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    index, count = (int(x) for x in FLAGS.shard.split("/"))
    if not 0 <= index < count:
        raise ValueError(f"--shard must be I/N with 0 <= I < N; received "
                         f"{FLAGS.shard!r}.")
    # Train the domain classifier once, before the grid (cached).
    from deep_learning.evaluate import make_extractor
    make_extractor("domain", dataset=DATASET, image_size=32)
    for job in jobs()[index::count]:
        run_job(*job)


if __name__ == "__main__":
    app.run(main)
