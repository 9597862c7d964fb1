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

    python my_tests/my_test_toy.py --steps 3000 --seed 0
    python my_tests/my_test_toy.py --models hmog,mog --seed 0,1,2,3,4 --steps 3000

Setup of the authors' toy scripts: z ~ N(0, I_2); HMoG = a depth-3 tree of
linear leaves and MoG = 8 linear leaves, both without B_s; D = MLP
[2, 20, 20, 20, 20, 1] with ReLU; non-saturating loss, n_critic 1,
Adam-amsgrad (0.5, 0.999), lr 1e-3 (G 8e-3 for FC/MoG/HMoG, as gan_toy.py),
batch 16, 300 epochs of 156 steps (46,800 steps). MADGAN/MGAN heads are
Linear -> Tanh -> Linear; MEGAN uses linear experts (see docs/mixtures.md).
Writes run folders in <out>/runs/, one score file per run in <out>/scores/
(a run whose file holds the same settings is read, not re-run),
<out>/regions_<model>_s<seed>.png, <out>/tree_hmog_s<seed>.png and
<out>/results.json / results.md (mean and std over seeds). The run folders
work with python -m deep_learning.sample / evaluate / interpretability.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from experiment_spec import cli  # noqa: E402
from experiment_spec.flags import (ExperimentParser, mixture_models,  # noqa: E402
                                   non_negative_int)

K = 8  # generators
MLP_D = [{"op": "d", "out": 20, "act": "relu"} for _ in range(4)]
# D's last layer gets each model's number of outputs from its recipe.
DISCRIMINATOR = MLP_D + [{"name": "score", "op": "d", "out": 1}]
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
# The authors' toy scripts: G's learning rate 8e-3 in gan_toy.py (FC, MoG,
# HMoG), 1e-3 in the others; MEGAN's load-balancing weight 10.
MODEL_SETTINGS = {"fc": {"lr_g": 8e-3}, "mog": {"lr_g": 8e-3},
                  "hmog": {"lr_g": 8e-3},
                  "megan": {"lr_g": 1e-3, "lb_weight": 10.0},
                  "madgan": {"lr_g": 1e-3}, "mgan": {"lr_g": 1e-3}}
CONFIG = dict(latent_dim=2, lr_d=1e-3, eval_points=2500)
TOYS = ["toy_gmm", "toy_gmm_fixed", "toy_grid", "toy_ring"]

PARSER = ExperimentParser(
    __doc__, common=("out", "seed", "steps", "batch_size", "precision", "jit",
                     "scalar_every", "image_every"),
    defaults={"out": "Results/toy", "seed": [0], "batch_size": 16,
              "image_every": 1000}, seed_list=True, paper_steps=46_800)
PARSER.add_argument("--models", type=mixture_models(),
                    default=list(GENERATORS), help="models to train")
PARSER.add_argument("--dataset", choices=TOYS, default="toy_gmm",
                    help="toy mixture: the authors' random 5 Gaussians, a "
                         "fixed pentagon, the 5x5 grid or the 8-Gaussian "
                         "ring")
PARSER.add_argument("--data_seed", type=non_negative_int, default=2019,
                    help="seed of the mixture's random centres and spreads")


def main(argv=None):
    args = PARSER.parse(argv)
    PARSER.announce(args.steps)
    from deep_learning.experiments import toy
    results = toy.run_toy_study(
        args.models, args.seed, generators=GENERATORS,
        discriminator=DISCRIMINATOR, model_settings=MODEL_SETTINGS, k=K,
        dataset=args.dataset, data_seed=args.data_seed, steps=args.steps,
        batch_size=args.batch_size, out=args.out, lr_d=CONFIG["lr_d"],
        latent_dim=CONFIG["latent_dim"], eval_points=CONFIG["eval_points"],
        jit=args.jit, precision=args.precision,
        scalar_every=args.scalar_every, image_every=args.image_every)
    print(f"results: {os.path.join(args.out, 'results.json')}")
    return 1 if results["stopped"] else 0


if __name__ == "__main__":
    sys.exit(cli.run(main))
