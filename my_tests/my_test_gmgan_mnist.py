"""
Title: GM-GAN on MNIST: unsupervised clustering and the two supervised
    objectives
Author: mixgan
Date created: 2025/11/23
Last modified: 2025/11/23
Description: A DCGAN whose latent prior is a mixture of K Gaussians
    (static or learned), trained without labels (then used to cluster real
    digits) or with labels through a (K+1)-way discriminator or a split
    class / real-fake objective.

Ben-Yosef & Weinshall, "Gaussian Mixture Generative Adversarial Networks
for Diverse Datasets, and the Unsupervised Clustering of Images", arXiv
1808.10356 (2018), and the student presentation in seed 002 (both
supervised objectives). ``--objective`` picks the variant:

* ``unsupervised``: non-saturating GAN loss. At the end of every
  objective's run a classifier is trained on generated digits labelled by
  their Gaussian, assigns the held-out real digits to clusters, and the
  clustering accuracy under the best one-to-one cluster/label mapping
  (Hungarian) is printed, written to TensorBoard
  (``gm/clustering_accuracy``) and to ``results.json``. The supervised
  objectives also record ``conditional_accuracy``: how often the MNIST
  domain classifier reads digit y in a sample of Gaussian y.
* ``k_plus_one``: D has 11 logits, index 10 = fake;
  ``L_D = CE(D(x), y) + CE(D(G(z_y)), 10)``, ``L_G = CE(D(G(z_y)), y)``.
* ``split``: logits 0..9 are a class head (cross-entropy on real digits
  only), logit 10 a real/fake logit (binary cross-entropy), weighted by
  ``--class_weight`` and ``--adversarial_weight``.

Defaults not fixed by the sources: c = 3 and sigma = 1 (seed 002 used
c in {1, 3}, sigma in {0.7, 1, 1.7}; the paper's own values were not
retrieved), d = 100, Adam 2e-4 with beta_1 = 0.5, batch 64. sigma is a
standard deviation (``--sigma_is=variance`` reads it as a variance).

TensorBoard: the losses (``gm/*`` for the supervised objectives), a grid
with one row per Gaussian (``gm/components``), samples from a fixed code,
and at the end one component grid per ``--sigma_scales`` value (the
post-training quality/diversity trade-off).

Usage:

```
python my_tests/my_test_gmgan_mnist.py --objective=unsupervised
python my_tests/my_test_gmgan_mnist.py --objective=k_plus_one --dynamic
python my_tests/my_test_gmgan_mnist.py --objective=split --class_weight=2
```
"""

import json
import os
import sys

ARCHITECTURE = {
    "input": (32, 32, 1),
    "code": 100,         # d
    "components": 10,    # K
    "generator": [
        {"name": "g1", "op": "d", "out": 4 * 4 * 256, "act": "relu",
         "act_nm": "bn", "out_reshape": [4, 4, 256]},
        {"name": "g2_up", "op": "tc", "out": 128, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g3_up", "op": "tc", "out": 64, "kernel": 4, "strides": 2,
         "act": "relu", "act_nm": "bn"},
        {"name": "g4_out", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
         "act": "tanh"},
    ],
    # The last layer's width is set from the objective: 1 (unsupervised)
    # or K + 1 (supervised).
    "discriminator": [
        {"name": "d1_ds", "op": "c", "out": 64, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2]},
        {"name": "d2_ds", "op": "c", "out": 128, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2], "act_nm": "bn"},
        {"name": "d3_ds", "op": "c", "out": 256, "kernel": 4, "strides": 2,
         "act": ["lrelu", 0.2], "act_nm": "bn", "out_reshape": [-1]},
        {"name": "d_out", "op": "d", "out": 1},
    ],
}

OBJECTIVES = ("unsupervised", "k_plus_one", "split")


def discriminator_for(architecture, objective):
    """The discriminator spec with the objective's output width."""
    spec = [dict(layer) for layer in architecture["discriminator"]]
    k = architecture["components"]
    spec[-1]["out"] = 1 if objective == "unsupervised" else k + 1
    return spec


def run(architecture, *, objective="unsupervised", steps=5000,
        batch_size=64, lr_d=2e-4, lr_g=2e-4, c=3.0, sigma=1.0,
        sigma_is="std", covariance="scalar", dynamic=False,
        class_weight=1.0, adversarial_weight=1.0, d_class_on_fake=False,
        gan_loss="logistic", dataset="mnist", data_dir=None, root="Results",
        run_dir=None, seed=0, steps_per_epoch=500, checkpoint_every=2500,
        scalar_every=50, image_every=500, cluster_samples=10000,
        cluster_epochs=5, eval_images=2000, sigma_scales=(0.5, 1.0, 2.0),
        samples_per_row=10, verbose=1):
    """Trains GM-GAN, then evaluates; returns ``(TrainResult, results)``."""
    import numpy as np
    import tensorflow as tf

    from deep_learning.engine import training
    from deep_learning.engine.callbacks import ImageSummary
    from deep_learning.models.gmgan import GMGAN
    from deep_learning.tools.clustering import gmgan_clustering_accuracy
    from deep_learning.engine.schedules import make_adam
    from general_tools.data import load_dataset
    from general_tools.figures import save_image_grid

    if objective not in OBJECTIVES:
        raise ValueError(f"`objective` must be one of {OBJECTIVES}. "
                         f"Received: objective={objective!r}")
    supervised = None if objective == "unsupervised" else objective
    height, width, _ = architecture["input"]
    k = architecture["components"]
    d_spec = discriminator_for(architecture, objective)
    images = load_dataset(dataset, image_size=(height, width),
                          data_dir=data_dir, seed=seed, deterministic=True,
                          with_labels=supervised is not None)

    def build():
        model = GMGAN(architecture["generator"], d_spec,
                      architecture["code"], num_components=k, c=c,
                      sigma=sigma, sigma_is=sigma_is, covariance=covariance,
                      dynamic=dynamic, mixture_seed=seed,
                      supervised=supervised, class_weight=class_weight,
                      adversarial_weight=adversarial_weight,
                      d_class_on_fake=d_class_on_fake, gan_loss=gan_loss,
                      seed=seed)
        model.compile(make_adam(lr_d, name="adam_d"),
                      make_adam(lr_g, name="adam_g"))
        return model

    settings = {"objective": objective, "batch_size": batch_size,
                "lr_d": lr_d, "lr_g": lr_g, "c": c, "sigma": sigma,
                "sigma_is": sigma_is, "covariance": covariance,
                "dynamic": dynamic, "class_weight": class_weight,
                "adversarial_weight": adversarial_weight,
                "d_class_on_fake": d_class_on_fake, "gan_loss": gan_loss,
                "dataset": dataset}
    if run_dir is None:
        run_dir = os.path.join(root, training.run_name(
            f"gmgan_{objective}", dataset,
            gan_loss if not supervised else "ce", lr_d, lr_g, 1, batch_size,
            seed, suffix="dyn" if dynamic else "static"))
    rows = ImageSummary(
        os.path.join(run_dir, "logs"),
        lambda m: {"gm/components": m.component_samples(samples_per_row,
                                                        seed=1234)},
        every=image_every, rows=k,
        samples_dir=os.path.join(run_dir, "samples"))
    result = training.train(
        build, images, steps=steps,
        config={"architecture": architecture, "discriminator": d_spec,
                "settings": settings},
        run_dir=run_dir, model_tag="gmgan", batch_size=batch_size,
        steps_per_epoch=steps_per_epoch, seed=seed,
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every},
        callbacks=[rows], verbose=verbose)

    model, paths = result.model, result.paths
    results = {"step": result.step}
    for scale in sigma_scales:
        grid = model.component_samples(samples_per_row, seed=1234,
                                       sigma_scale=scale)
        save_image_grid(grid, os.path.join(
            paths.samples, f"components_sigma{scale:g}.png"), rows=k)
    if eval_images > 0:
        test = load_dataset(dataset, split="test", image_size=(height, width),
                            data_dir=data_dir, with_labels=True,
                            shuffle=False, batch_size=256,
                            drop_remainder=False, cache=False)
        xs, ys = [], []
        for x, y in test:
            xs.append(x.numpy())
            ys.append(y.numpy())
            if sum(len(v) for v in ys) >= eval_images:
                break
        x_real = np.concatenate(xs)[:eval_images]
        y_real = np.concatenate(ys)[:eval_images]
        acc, _, _ = gmgan_clustering_accuracy(
            model, x_real, y_real, num_samples=cluster_samples,
            epochs=cluster_epochs, seed=seed)
        results["clustering_accuracy"] = acc
        results["eval_images"] = int(len(y_real))
        writer = tf.summary.create_file_writer(paths.logs)
        with writer.as_default(step=result.step):
            tf.summary.scalar("gm/clustering_accuracy", acc)
        writer.close()
        print(f"Clustering accuracy on {len(y_real)} held-out digits: "
              f"{acc:.4f}")
        if supervised is not None and dataset.startswith("mnist"):
            # Class-conditional generation: does Gaussian y give digit y
            # according to the domain classifier (trained on real digits)?
            results["conditional_accuracy"] = conditional_accuracy(
                model, (height, width), n_per_component=200, seed=seed)
            print(f"Domain-classifier agreement of G(z_y) with y: "
                  f"{results['conditional_accuracy']:.4f}")
    training.write_json_atomic(os.path.join(paths.root, "results.json"),
                               results)
    return result, results


def conditional_accuracy(model, image_size, n_per_component=200, seed=0,
                         extractor=None):
    """Fraction of ``G(z)``, ``z`` from Gaussian ``y``, that a classifier
    labels ``y`` (supervised objectives). ``extractor``: anything with
    ``extract(images, outputs=['logits'])``; None is the bundled MNIST
    domain classifier at ``image_size`` (trained and cached if missing)."""
    import numpy as np

    if extractor is None:
        from deep_learning.tools.evaluate import make_extractor
        extractor = make_extractor("domain", image_size=image_size)
    images = model.component_samples(n_per_component, seed=seed)
    images = np.asarray(images)
    logits = extractor.extract(images, outputs=["logits"])["logits"]
    wanted = np.repeat(np.arange(model.num_components), n_per_component)
    return float(np.mean(np.argmax(logits, axis=1) == wanted))


def define_flags():
    """Defines the script's absl flags (call once)."""
    from absl import flags

    flags.DEFINE_enum("objective", "unsupervised", list(OBJECTIVES),
                      "GM-GAN variant.")
    flags.DEFINE_integer("steps", 5000, "Generator steps.")
    flags.DEFINE_integer("batch_size", 64, "Batch size.")
    flags.DEFINE_float("lr_d", 2e-4, "Discriminator learning rate.")
    flags.DEFINE_float("lr_g", 2e-4, "Generator learning rate.")
    flags.DEFINE_float("c", 3.0, "Means start from U[-c, c]^d.")
    flags.DEFINE_float("sigma", 1.0, "Initial scale of every Gaussian.")
    flags.DEFINE_enum("sigma_is", "std", ["std", "variance"],
                      "Read --sigma as a standard deviation or a variance.")
    flags.DEFINE_enum("covariance", "scalar", ["scalar", "diag"],
                      "One scale per Gaussian or per Gaussian and axis.")
    flags.DEFINE_boolean("dynamic", False, "Learn means and scales.")
    flags.DEFINE_float("class_weight", 1.0, "'split': class-term weight.")
    flags.DEFINE_float("adversarial_weight", 1.0,
                       "'split': real/fake-term weight.")
    flags.DEFINE_boolean("d_class_on_fake", False,
                         "'split': also train D's class head on fakes.")
    flags.DEFINE_string("gan_loss", "logistic", "Unsupervised GAN loss.")
    flags.DEFINE_string("dataset", "mnist", "load_dataset name.")
    flags.DEFINE_string("data_dir", None, "Data folder.")
    flags.DEFINE_string("root", "Results", "Parent folder of run folders.")
    flags.DEFINE_string("run_dir", None, "Explicit run folder.")
    flags.DEFINE_integer("seed", 0, "Seed.")
    flags.DEFINE_integer("steps_per_epoch", 500, "Steps per epoch.")
    flags.DEFINE_integer("checkpoint_every", 2500, "Checkpoint period.")
    flags.DEFINE_integer("scalar_every", 50, "Scalar summary period.")
    flags.DEFINE_integer("image_every", 500, "Image summary period.")
    flags.DEFINE_integer("cluster_samples", 10000, "Generated images the "
                         "clustering classifier trains on.")
    flags.DEFINE_integer("cluster_epochs", 5, "Classifier epochs.")
    flags.DEFINE_integer("eval_images", 2000, "Held-out real digits to "
                         "cluster (0 skips the clustering).")
    flags.DEFINE_list("sigma_scales", ["0.5", "1", "2"],
                      "Test-time sigma scales of the final grids.")


def main(argv):
    """Runs :func:`run` with the parsed flags."""
    from absl import flags

    if len(argv) > 1:
        raise ValueError(f"Unexpected arguments: {argv[1:]}")
    f = flags.FLAGS
    names = ["objective", "steps", "batch_size", "lr_d", "lr_g", "c",
             "sigma", "sigma_is", "covariance", "dynamic", "class_weight",
             "adversarial_weight", "d_class_on_fake", "gan_loss", "dataset",
             "data_dir", "root", "run_dir", "seed", "steps_per_epoch",
             "checkpoint_every", "scalar_every", "image_every",
             "cluster_samples", "cluster_epochs", "eval_images"]
    kwargs = {n: getattr(f, n) for n in names}
    kwargs["sigma_scales"] = [float(s) for s in f.sigma_scales]
    result, results = run(ARCHITECTURE, **kwargs)
    print(f"Run folder: {result.paths.root}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    from absl import app

    define_flags()
    app.run(main)
