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
scores land in ``docs/results/mnist_study_scores/<model><k>_s<seed>.json``
(``--scores``); a run whose file exists is skipped, so an interrupted grid
continues where it stopped, and the committed files let the grid grow over
several sessions or machines. Point ``--scores`` at an empty folder to
start afresh.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

import my_test_mixtures_mnist as arch  # noqa: E402  (B_S, D, H_SHAPE)

MODELS = ("fc", "mog", "hmog", "megan", "madgan", "mgan")
NAMES = {"fc": "FC", "mog": "MoG", "hmog": "HMoG", "megan": "MEGAN",
         "madgan": "MADGAN", "mgan": "MGAN"}
FLAGS = flags.FLAGS
flags.DEFINE_list("models", list(MODELS), "models of the grid")
flags.DEFINE_list("ks", ["8", "16"], "numbers of generators (FC: one run)")
flags.DEFINE_list("seeds", ["0", "1", "2"], "seeds")
flags.DEFINE_list("variants", [],
                  "extra cells MODEL:OBJECTIVE, e.g. megan:wasserstein "
                  "(MEGAN with WGAN-GP instead of its own loss), run for "
                  "every K and seed of the grid")
flags.DEFINE_integer("study_steps", 150, "generator iterations of every run")
flags.DEFINE_integer("batch", 64, "batch size (the paper: 128)")
flags.DEFINE_integer("num", 2000, "generated images per score")
flags.DEFINE_integer("msssim_pairs", 250, "sample pairs for MS-SSIM")
flags.DEFINE_string("shard", "0/1", "I/N: run every N-th job from the I-th")
flags.DEFINE_integer("threads", 1, "intra-op threads (0: TensorFlow's)")
flags.DEFINE_string("root", "Results/mnist_study", "run folders")
flags.DEFINE_string("scores", "docs/results/mnist_study_scores",
                    "one score file per finished run (kept in the "
                    "repository, so the grid adds up over sessions)")
flags.DEFINE_bool("report", False, "only aggregate the scores")
flags.DEFINE_bool("list", False, "only list this shard's runs, done or to do")
flags.DEFINE_string("json_out", "docs/results/mnist_mixtures.json",
                    "report: aggregated JSON")
flags.DEFINE_string("figure_out", "docs/figures/mnist_mixtures_fid.png",
                    "report: FID vs generator parameters")
flags.DEFINE_list("figure_runs", ["hmog16_s0", "mog16_s0", "megan16_s0",
                                  "madgan16_s0", "mgan16_s0", "fc_s0"],
                  "runs whose per-generator figures are written")

DATASET = "mnist_bundled"


OBJECTIVE_NAMES = {"wasserstein": "WGAN-GP", "logistic": "non-saturating"}


def _variants():
    """(model, objective) of every ``--variants`` entry, checked."""
    from experiment_spec.recipes import objective_of
    out = []
    for entry in FLAGS.variants:
        model, _, objective = entry.partition(":")
        if not objective:
            raise ValueError(f"--variants entries are MODEL:OBJECTIVE; "
                             f"received {entry!r}")
        objective_of(model, objective)  # raises on a bad pair
        out.append((model, objective))
    return out


def jobs():
    """(model, k, seed, name, objective) of the whole grid, FC once per
    seed, then the ``--variants`` cells."""
    out = []
    cells = [(m, None) for m in FLAGS.models] + _variants()
    for seed in (int(s) for s in FLAGS.seeds):
        for model, objective in cells:
            for k in ([8] if model == "fc" else [int(k) for k in FLAGS.ks]):
                base = "fc" if model == "fc" else f"{model}{k}"
                tag = f"_{objective}" if objective else ""
                out.append((model, k, seed, f"{base}{tag}_s{seed}",
                            objective))
    return out


def run_job(model, k, seed, name, objective=None):
    from deep_learning.experiments.mixtures import run_mixture_study
    from deep_learning.experiments.study import run_and_score

    def train():
        return run_mixture_study(
            model, k, arch.B_S, arch.D, arch.H_SHAPE, dataset=DATASET,
            steps=FLAGS.study_steps, image_size=32, batch_size=FLAGS.batch,
            lr=arch.CONFIG["lr"], latent_dim=arch.CONFIG["latent_dim"],
            seed=seed, root=os.path.join(FLAGS.root, "runs"),
            figures=name in FLAGS.figure_runs, figure_samples=2000,
            config={"script": "my_test_mixtures_study"}, objective=objective)

    run_and_score(
        name, FLAGS.scores, train,
        metrics="fid,knn,msssim", num=FLAGS.num, reference=f"{DATASET}:test",
        evaluate_options={"msssim_pairs": FLAGS.msssim_pairs}, model=model,
        k=1 if model == "fc" else k, seed=seed, batch_size=FLAGS.batch,
        objective=objective)


SCORES = ("fid", "knn_real_fraction", "knn_fake_fraction", "knn_accuracy",
          "knn_two_sample", "msssim_fake", "msssim_real")


def report():
    from deep_learning.experiments.study import load_scores, mean_std, summarise
    from general_tools.atomic_io import write_bytes_atomic

    rows = load_scores(FLAGS.scores)
    for row in rows:  # the paper's single 5-NN number: mean of the fractions
        sc = row.get("scores", {})
        if "knn_real_fraction" in sc and "knn_fake_fraction" in sc:
            sc["knn_two_sample"] = (sc["knn_real_fraction"]
                                    + sc["knn_fake_fraction"]) / 2
    order = {m: i for i, m in enumerate(MODELS)}
    cell_keys = ("model", "k", "objective")
    table = sorted(summarise(rows, cell_keys, SCORES, per_seed=("fid",)),
                   key=lambda e: (order[e["model"]], e["objective"] or "",
                                  e["k"]))
    print("| model | K | G params | FID | FID per seed | 5-NN real "
          "| 5-NN fake | 5-NN acc | MS-SSIM | s/run | seeds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for e in table:
        scored = e["n"] - e["diverged"]

        def cell(key, digits=3, e=e, scored=scored):
            if key not in e:
                return "-"
            return (f"{e[key][0]:.{digits}f}" if scored == 1
                    else mean_std(e[key], digits))

        fid = cell("fid", 1) if "fid" in e else "diverged"
        per_seed = ", ".join("-" if v is None else f"{v:.1f}"
                             for v in e["fid_per_seed"].values())
        print(f"| {_label(e)} | {e['k']} | {e['g_params']:,} | "
              f"{fid} | {per_seed} | {cell('knn_real_fraction')} | "
              f"{cell('knn_fake_fraction')} | {cell('knn_accuracy')} | "
              f"{cell('msssim_fake')} | {e['wall_s']:.0f} | "
              f"{scored}/{e['n']} |")
    real = [e["msssim_real"][0] for e in table if "msssim_real" in e]
    if real:
        print(f"MS-SSIM of held-out real pairs: {real[0]:.3f}")
    write_bytes_atomic(FLAGS.json_out,
                       (json.dumps(table, indent=2) + "\n").encode())
    _figure(table)


def _label(entry):
    """Row name: the model, and the objective when it is not its own."""
    name = NAMES[entry["model"]]
    objective = entry.get("objective")
    return f"{name} ({OBJECTIVE_NAMES[objective]})" if objective else name


def _figure(table):
    """Fig. 9 of the paper: FID and the 5-NN two-sample score (mean of the
    real and fake fractions, 0.5 ideal) against generator parameters."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    markers = {8: "o", 16: "s", 1: "D"}
    curves = sorted({(e["model"], e.get("objective") or "") for e in table},
                    key=lambda c: (MODELS.index(c[0]), c[1]))
    for ax, key, label in ((axes[0], "fid", "FID (domain-classifier features)"),
                           (axes[1], "knn_two_sample",
                            "5-NN two-sample score (0.5 ideal)")):
        for model, objective in curves:
            pts = [e for e in table if e["model"] == model and key in e
                   and (e.get("objective") or "") == objective]
            if not pts:
                continue
            line = ax.errorbar([e["g_params"] for e in pts],
                               [e[key][0] for e in pts],
                               yerr=[e[key][1] for e in pts], capsize=3,
                               label=_label(pts[0]),
                               linestyle="--" if objective else "-")
            for e in pts:
                ax.plot(e["g_params"], e[key][0], markers.get(e["k"], "o"),
                        color=line[0].get_color())
        ax.set_xscale("log")
        ax.set_xlabel("generator parameters (circle: K=8, square: K=16, "
                      "diamond: FC)", fontsize=8)
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("MNIST 32x32, bundled 8k train / 2k held out, "
                 f"{table[0]['steps']} generator iterations, mean ± std "
                 "over seeds", fontsize=9)
    fig.tight_layout()
    os.makedirs(os.path.dirname(FLAGS.figure_out) or ".", exist_ok=True)
    fig.savefig(FLAGS.figure_out, dpi=120)
    print(f"figure: {FLAGS.figure_out}")


def main(argv):
    del argv
    if FLAGS.report:
        report()
        return
    from deep_learning.experiments.study import limit_threads, shard
    if FLAGS.list:
        for job in shard(jobs(), FLAGS.shard):
            done = os.path.exists(os.path.join(FLAGS.scores, f"{job[3]}.json"))
            print(f"{job[3]}: {'done' if done else 'to run'}")
        return
    limit_threads(FLAGS.threads)
    # Train the domain classifier once, before the grid (cached).
    from deep_learning.tools.evaluate import make_extractor
    make_extractor("domain", dataset=DATASET, image_size=32)
    for job in shard(jobs(), FLAGS.shard):
        run_job(*job)


if __name__ == "__main__":
    app.run(main)
