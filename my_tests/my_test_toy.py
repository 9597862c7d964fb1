"""
Title: the 2-D toy study of the HMoG paper (Figs. 6-8)
Date: 2026-11-23
Paper: Ahmetoglu & Alpaydin, "Hierarchical Mixtures of Generators for
    Adversarial Learning" (seed 004), Sec. IV-A.
Purpose: train FC, MoG, HMoG, MEGAN, MADGAN and MGAN with 8 generators on a
    mixture of 5 random 2-D Gaussians (or a fixed pentagon, the 5x5 grid, the
    8-Gaussian ring), score each by modes covered, share of high-quality
    samples (within 3 std of a centre), 5-NN two-sample accuracy and the
    Frechet distance on raw coordinates, and draw the region figures (data
    in black, samples coloured by their generator, the regions of z, one
    panel per generator, and HMoG's tree of node responsibilities).

    python my_tests/my_test_toy.py --steps 3000 --seeds 0
    python my_tests/my_test_toy.py --models hmog,mog --seeds 0,1,2,3,4

Setup of the authors' toy scripts: z ~ N(0, I_2); HMoG = a depth-3 tree of
linear leaves and MoG = 8 linear leaves, both without B_s; D = MLP
[2, 20, 20, 20, 20, 1] with ReLU; non-saturating loss, n_critic 1,
Adam-amsgrad (0.5, 0.999), lr 1e-3 (G 8e-3 for FC/MoG/HMoG, as gan_toy.py),
batch 16, 300 epochs of 156 steps (46,800 steps). MADGAN/MGAN heads are
Linear -> Tanh -> Linear; MEGAN uses linear experts (see docs/mixtures.md).
Writes <out>/<model>_s<seed>/ run folders, <out>/regions_<model>_s<seed>.png,
<out>/tree_hmog_s<seed>.png and <out>/results.json / results.md (mean and std
over seeds).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from experiment_spec import recipes  # noqa: E402

K = 8  # generators
MLP_D = [{"op": "d", "out": 20, "act": "relu"} for _ in range(4)]
GENERATORS = {
    "fc": [{"op": "d", "out": 20, "act": "relu"} for _ in range(4)]
    + [{"name": "out", "op": "d", "out": 2}],
    "mog": [{"name": "mog", "op": "mog", "out": 2, "leaves": K}],
    "hmog": [{"name": "tree", "op": "hmog", "out": 2, "depth": 3}],
    "megan": [{"name": "megan", "op": "megan", "out": 2, "experts": K,
               "proj": 2, "expert_act": "linear"}],
    "madgan": [{"name": "h1", "op": "heads", "out": 2, "heads": K,
                "act": "tanh"},
               {"name": "h2", "op": "heads", "out": 2, "heads": K},
               {"name": "fold", "op": "fold_heads"}],
}
GENERATORS["mgan"] = GENERATORS["madgan"]
# D's last layer gets each model's number of outputs from its recipe.
DISCRIMINATOR = MLP_D + [{"name": "score", "op": "d", "out": 1}]
# The authors' toy scripts: G's learning rate 8e-3 in gan_toy.py (FC, MoG,
# HMoG), 1e-3 in the others; MEGAN's load-balancing weight 10.
MODEL_SETTINGS = {"fc": {"lr_g": 8e-3}, "mog": {"lr_g": 8e-3},
                  "hmog": {"lr_g": 8e-3}, "megan": {"lr_g": 1e-3,
                                                    "lb_weight": 10.0},
                  "madgan": {"lr_g": 1e-3}, "mgan": {"lr_g": 1e-3}}
CONFIG = dict(latent_dim=2, batch_size=16, lr_d=1e-3, eval_points=2500,
              dataset="toy_gmm", data_seed=2019)

FLAGS = flags.FLAGS
flags.DEFINE_list("models", ["fc", "mog", "hmog", "megan", "madgan", "mgan"],
                  "models to train")
flags.DEFINE_list("seeds", ["0"], "seeds (the paper reports 5)")
flags.DEFINE_integer("steps", 46_800, "generator steps (300 epochs x 156)")
flags.DEFINE_string("out", "Results/toy", "output folder")
flags.DEFINE_integer("data_seed", CONFIG["data_seed"],
                     "seed of the mixture's random centres and spreads")
flags.DEFINE_enum("dataset", CONFIG["dataset"],
                  ["toy_gmm", "toy_gmm_fixed", "toy_grid", "toy_ring"],
                  "toy mixture: the authors' random 5 Gaussians, a fixed "
                  "pentagon, the 5x5 grid or the 8-Gaussian ring")
flags.DEFINE_bool("jit", False, "XLA-compile the train step")


def build_model(name, seed):
    from deep_learning.engine.schedules import make_adam
    from deep_learning.models.mixture_gans import mixture_gan
    settings = dict(MODEL_SETTINGS[name])
    lr_g = settings.pop("lr_g")
    disc = [dict(layer) for layer in DISCRIMINATOR]
    disc[-1]["out"] = recipes.get(name).d_outputs(K)
    model = mixture_gan(name, GENERATORS[name], disc, K,
                        latent_dim=CONFIG["latent_dim"], seed=seed,
                        gan_loss="logistic", n_critic=1, gp_weight=0.0,
                        **settings)
    model.compile(make_adam(CONFIG["lr_d"], amsgrad=True),
                  make_adam(lr_g, amsgrad=True), jit_compile=FLAGS.jit)
    return model


def components(model, z):
    """Generated points (raw coordinates, not clipped to the image range)
    and the generator that drew each."""
    from deep_learning.models.generator_assignment import (
        outputs_and_generators)
    return outputs_and_generators(model, z)


def evaluate(name, model, real, mixture, seed):
    """Scores of one trained model and the points behind its figures."""
    from general_tools.metrics import frechet_distance, knn_two_sample
    from general_tools.toy_metrics import mode_statistics
    n = CONFIG["eval_points"]
    heads = recipes.get(name).heads
    per = -(-n // K) if heads else n
    points, comp = components(model, model.latent_codes(per, seed=seed))
    fake = points
    if heads:
        # n of the K * ceil(n / K) outputs at random, as the authors sample.
        fake = points[np.random.default_rng(seed).permutation(len(points))[:n]]
    knn = knn_two_sample(real, fake, k=5)
    modes = mode_statistics(fake, *mixture)
    return {"modes_covered": modes["modes_covered"],
            "high_quality": modes["high_quality"],
            "knn_accuracy": float(knn["accuracy"]),
            "fake_fraction": float(knn["fake_fraction"]),
            "real_fraction": float(knn["real_fraction"]),
            "frechet": float(frechet_distance(real, fake)),
            "generators_used": int(len(np.unique(comp)))}, points, comp


def draw(name, model, real, points, comp, out, seed, limits):
    """The toy figure of one model (and HMoG's node tree)."""
    import tensorflow as tf
    from deep_learning.models.mixture_layers import TreeMixture, find_layer
    from general_tools import figures
    axis = np.linspace(-3, 3, 60, dtype=np.float32)
    z_grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    z_comp = None
    if not recipes.get(name).heads:  # heads: every z goes to every head
        _, z_comp = components(model, z_grid)
    path = os.path.join(out, f"regions_{name}_s{seed}.png")
    figures.plot_toy_study(real, points, comp,
                           None if z_comp is None else z_grid, z_comp, path,
                           title=name.upper(), num_generators=K,
                           limits=limits)
    tree = (find_layer(model.generator, TreeMixture)
            if recipes.get(name).assignment == "tree" else None)
    if tree is not None and tree.depth > 1:  # HMoG's tree of node panels
        z = model.latent_codes(len(points), seed=seed)
        probs = tree.node_probabilities(tf.convert_to_tensor(z)).numpy()
        figures.plot_toy_tree(model.generator(z, training=False).numpy(),
                              probs, os.path.join(out, f"tree_{name}_s{seed}.png"),
                              limits=limits)
    return path


def main(argv):
    del argv
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    from deep_learning.engine import training
    from general_tools.data import load_dataset

    from general_tools.data.toy import toy_mixture

    os.makedirs(FLAGS.out, exist_ok=True)
    dataset = FLAGS.dataset
    mixture = toy_mixture(dataset, FLAGS.data_seed)
    real_test = np.concatenate(list(load_dataset(
        dataset, split="test", batch_size=500, shuffle=False,
        data_seed=FLAGS.data_seed).as_numpy_iterator()))
    reach = 1.25 * float(np.abs(real_test).max())
    results = {}
    for seed in [int(s) for s in FLAGS.seeds]:
        for name in FLAGS.models:
            if name not in GENERATORS:
                raise app.UsageError(f"--models: unknown model {name!r}; "
                                     f"choose from {sorted(GENERATORS)}")
            data = load_dataset(dataset, split="train", seed=seed,
                                deterministic=True, repeat=True,
                                data_seed=FLAGS.data_seed)
            run = training.train(
                lambda: build_model(name, seed), data, steps=FLAGS.steps,
                batch_size=CONFIG["batch_size"], seed=seed,
                run_dir=os.path.join(FLAGS.out, f"{name}_s{seed}"),
                config={"script": "my_test_toy", "model": name, **CONFIG,
                        "dataset": dataset, "data_seed": FLAGS.data_seed},
                steps_per_epoch=min(1000, FLAGS.steps), verbose=0,
                callback_options={"image_every": 0,
                                  "checkpoint_every": 5000})
            scores, points, comp = evaluate(name, run.model, real_test,
                                            mixture, seed + 1000)
            scores["steps"] = run.step
            results.setdefault(name, []).append(scores)
            print(f"{name:7s} seed {seed}: " + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in scores.items()), flush=True)
            draw(name, run.model, real_test, points, comp, FLAGS.out, seed,
                 (-reach, reach))
    summary = {name: {key: [float(np.mean([r[key] for r in runs])),
                            float(np.std([r[key] for r in runs]))]
                      for key in runs[0]} for name, runs in results.items()}
    training.write_json_atomic(os.path.join(FLAGS.out, "results.json"),
                               {"config": CONFIG, "seeds": FLAGS.seeds,
                                "per_seed": results, "summary": summary})
    lines = [f"{dataset}, {len(FLAGS.seeds)} seed(s), {FLAGS.steps} steps; "
             "mean ± std over seeds", "",
             "| model | modes covered | high quality | 5-NN accuracy | "
             "Frechet | generators used |", "|---|---|---|---|---|---|"]

    def cell(stat, fmt):
        return f"{stat[0]:{fmt}} ± {stat[1]:{fmt}}"

    for name, s in summary.items():
        lines.append(
            f"| {name} | {cell(s['modes_covered'], '.1f')} | "
            f"{cell([100 * v for v in s['high_quality']], '.1f')}% | "
            f"{cell(s['knn_accuracy'], '.3f')} | {cell(s['frechet'], '.2f')} "
            f"| {s['generators_used'][0]:.1f} |")
    with open(os.path.join(FLAGS.out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"results": os.path.join(FLAGS.out, "results.json")}))


if __name__ == "__main__":
    app.run(main)
