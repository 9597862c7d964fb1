"""Runner of ``my_tests/my_test_gmgan_mnist.py``: a GM-GAN (Ben-Yosef &
Weinshall 2018) trained with the engine, then evaluated.

After training: one component grid (a row per Gaussian) per test-time
sigma scale in ``<run>/samples/components_sigma<scale>_<step>.png``; the
clustering accuracy of held-out real images
(``tools.clustering.gmgan_clustering_accuracy``); for the supervised
objectives on MNIST the conditional accuracy
(``tools.clustering.conditional_accuracy``). The numbers go to
TensorBoard (``gm/clustering_accuracy``) and to ``<run>/results_<step>.json``.
Nothing is replaced: an existing grid is kept, a results file of the same
step and evaluation settings is read instead of evaluating again, and one
of other settings gets a ``_1``, ``_2``, ... variant.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from deep_learning.engine import training
from deep_learning.engine.callbacks import ImageSummary
from deep_learning.engine.run_folder import config_differences
from deep_learning.engine.schedules import make_adam
from deep_learning.experiments.common import make_strategy, report_run
from deep_learning.models.gmgan import GMGAN
from deep_learning.tools.clustering import (conditional_accuracy,
                                            gmgan_clustering_accuracy)
from general_tools.data import get_spec, load_dataset
from general_tools.figures import save_image_grid

__all__ = ["OBJECTIVES", "discriminator_for", "generator_for", "train_gmgan",
           "results_path"]

OBJECTIVES = ("unsupervised", "k_plus_one", "split")
#: Datasets whose domain classifier reads the classes of the samples.
_CONDITIONAL_DATASETS = ("mnist", "mnist_bundled")
_GRID_SEED = 1234


def discriminator_for(architecture, objective):
    """The discriminator spec with the objective's output width: 1
    (``'unsupervised'``) or K + 1 (the supervised objectives)."""
    spec = [dict(layer) for layer in architecture["discriminator"]]
    k = architecture["components"]
    spec[-1]["out"] = 1 if objective == "unsupervised" else k + 1
    return spec


def generator_for(architecture, channels):
    """The generator spec whose last layer gives ``channels`` channels
    (those of the training images)."""
    spec = [dict(layer) for layer in architecture["generator"]]
    spec[-1]["out"] = int(channels)
    return spec


def _check_settings(objective, class_weight, adversarial_weight,
                    d_class_on_fake, gan_loss):
    if objective not in OBJECTIVES:
        raise ValueError(f"`objective` must be one of {OBJECTIVES}. "
                         f"Received: objective={objective!r}")
    if objective != "split" and (class_weight != 1.0 or
                                 adversarial_weight != 1.0 or
                                 d_class_on_fake):
        raise ValueError(
            "`class_weight`, `adversarial_weight` and `d_class_on_fake` "
            f"belong to the 'split' objective. Received: objective="
            f"{objective!r}, class_weight={class_weight}, adversarial_weight="
            f"{adversarial_weight}, d_class_on_fake={d_class_on_fake}")
    if objective != "unsupervised" and gan_loss != "logistic":
        raise ValueError(
            "`gan_loss` is the unsupervised objective's; the supervised "
            f"ones use cross-entropy. Received: objective={objective!r}, "
            f"gan_loss={gan_loss!r}")


def train_gmgan(architecture, *, objective="unsupervised", steps=5000,
                batch_size=64, lr_d=2e-4, lr_g=2e-4, c=3.0, sigma=1.0,
                sigma_is="std", covariance="scalar", dynamic=False,
                class_weight=1.0, adversarial_weight=1.0,
                d_class_on_fake=False, gan_loss="logistic", dataset="mnist",
                data_dir=None, root="Results", seed=0, precision="float32",
                jit=False, steps_per_epoch=500, checkpoint_every=2500,
                scalar_every=50, image_every=500, cluster_samples=10000,
                cluster_epochs=5, eval_images=2000,
                sigma_scales=(0.5, 1.0, 2.0), samples_per_row=10,
                strategy="default", verbose=1):
    """Trains a GM-GAN with the engine, then evaluates it.

    The run folder is named by ``training.train`` under ``root`` (model tag
    ``gmgan_<objective>``, with ``_dyn`` for the dynamic model) and resumed
    when it exists. Adam with beta_1 = 0.5 for both networks.

    Args:
        architecture: dict. ``image_size`` ``(h, w)``, ``code`` (d),
            ``components`` (K), ``generator`` and ``discriminator`` spec
            lists; the last layers' widths are set here (the images'
            channels; 1 or K + 1 logits, see :func:`discriminator_for`).
        objective: ``'unsupervised'``, ``'k_plus_one'`` or ``'split'``.
            Defaults to ``'unsupervised'``.
        steps: int. Generator steps. Defaults to 5000.
        batch_size: int. Defaults to 64.
        lr_d, lr_g: floats. Learning rates. Default to 2e-4.
        c: float. Means start from ``U[-c, c]^d``. Defaults to 3.0.
        sigma: float. Initial scale of every Gaussian. Defaults to 1.0.
        sigma_is: ``'std'`` or ``'variance'``. Defaults to ``'std'``.
        covariance: ``'scalar'`` or ``'diag'``. Defaults to ``'scalar'``.
        dynamic: bool. Learn the means and scales. Defaults to False.
        class_weight, adversarial_weight, d_class_on_fake: the ``'split'``
            objective's weights and whether D's class head also trains on
            fakes (other objectives need the defaults 1.0, 1.0, False).
        gan_loss: str. The unsupervised objective's registered loss
            (supervised ones need the default). Defaults to ``'logistic'``.
        dataset: str. ``load_dataset`` name; labelled for the supervised
            objectives (with K classes) and the clustering. Defaults to
            ``'mnist'``.
        data_dir: str or None. Data folder. Defaults to None.
        root: str. Parent folder of run folders. Defaults to ``'Results'``.
        seed: int. Seed of the training, the means and the evaluation.
            Defaults to 0.
        precision: str. ``training.train``'s. Defaults to ``'float32'``.
        jit: bool. XLA-compile the train step. Defaults to False.
        strategy: a ``tf.distribute`` strategy or its ``--strategy`` name
            (``experiments.common.make_strategy``). Defaults to
            ``'default'``.
        steps_per_epoch: int. Defaults to 500.
        checkpoint_every, scalar_every: ints. Periods in generator steps.
            Default to 2500 and 50.
        image_every: int. Period of the sample and component grids; 0 for
            none. Defaults to 500.
        cluster_samples: int. Generated images the clustering classifier
            trains on. Defaults to 10000.
        cluster_epochs: int. Its epochs. Defaults to 5.
        eval_images: int. Held-out real images clustered; 0 skips the
            clustering (and the conditional accuracy). Defaults to 2000.
        sigma_scales: floats. Test-time scales of the final component
            grids. Defaults to ``(0.5, 1.0, 2.0)``.
        samples_per_row: int. Samples per Gaussian in the grids. Defaults
            to 10.
        verbose: int. ``fit``'s verbosity. Defaults to 1.

    Returns:
        ``(TrainResult, results)``: ``results`` is the dict of
        ``results_<step>.json`` (None when the run stopped on a non-finite
        value: then nothing is evaluated).
    """
    _check_settings(objective, class_weight, adversarial_weight,
                    d_class_on_fake, gan_loss)
    strategy = make_strategy(strategy)
    supervised = None if objective == "unsupervised" else objective
    image_size = tuple(architecture["image_size"])
    k = architecture["components"]
    images = load_dataset(dataset, image_size=image_size, data_dir=data_dir,
                          seed=seed, deterministic=True,
                          with_labels=supervised is not None)
    classes = get_spec(dataset).num_classes if supervised else k
    if classes != k:
        raise ValueError(
            f"A supervised GM-GAN has one Gaussian per class: {dataset!r} "
            f"has {classes} classes, the architecture {k} components.")
    spec = images.element_spec
    channels = int((spec[0] if supervised else spec).shape[-1])
    g_spec = generator_for(architecture, channels)
    d_spec = discriminator_for(architecture, objective)

    def build():
        model = GMGAN(g_spec, d_spec, architecture["code"], num_components=k,
                      c=c, sigma=sigma, sigma_is=sigma_is,
                      covariance=covariance, dynamic=dynamic,
                      mixture_seed=seed, supervised=supervised,
                      class_weight=class_weight,
                      adversarial_weight=adversarial_weight,
                      d_class_on_fake=d_class_on_fake, gan_loss=gan_loss,
                      seed=seed)
        model.compile(make_adam(lr_d, name="adam_d"),
                      make_adam(lr_g, name="adam_g"), jit_compile=jit)
        return model

    grids = []
    if image_every:
        grids.append(ImageSummary(
            None, lambda m: {"gm/components": m.component_samples(
                samples_per_row, seed=_GRID_SEED)},
            every=image_every, rows=k))
    result = report_run(training.train(
        build, images, steps=steps, root=root,
        model_tag=f"gmgan_{objective}" + ("_dyn" if dynamic else ""),
        config={"objective": objective, "architecture": architecture},
        batch_size=batch_size, steps_per_epoch=steps_per_epoch, seed=seed,
        precision=precision,
        callback_options={"checkpoint_every": checkpoint_every,
                          "scalar_every": scalar_every,
                          "image_every": image_every},
        callbacks=grids, strategy=strategy, verbose=verbose))
    if result.stop_message is not None or not result.chief:
        return result, None
    model, paths = result.model, result.paths
    for scale in sigma_scales:
        path = os.path.join(paths.samples, f"components_sigma{scale:g}_"
                                           f"{result.step:08d}.png")
        if not os.path.exists(path):
            os.makedirs(paths.samples, exist_ok=True)
            save_image_grid(model.component_samples(
                samples_per_row, seed=_GRID_SEED, sigma_scale=scale), path,
                rows=k)
    evaluation = {"eval_images": int(eval_images),
                  "cluster_samples": int(cluster_samples),
                  "cluster_epochs": int(cluster_epochs), "seed": int(seed)}
    path, existing = results_path(paths.root, result.step, evaluation)
    if existing is not None:
        print(f"{path} exists (same step and evaluation settings); "
              f"reading it.")
        return result, existing
    results = {"step": result.step, "objective": objective,
               "evaluation": evaluation}
    if eval_images > 0:
        results.update(_cluster(
            model, dataset, image_size, data_dir, eval_images,
            cluster_samples, cluster_epochs, seed,
            conditional=(supervised is not None and
                         dataset in _CONDITIONAL_DATASETS)))
        writer = tf.summary.create_file_writer(paths.logs)
        with writer.as_default(step=result.step):
            tf.summary.scalar("gm/clustering_accuracy",
                              results["clustering_accuracy"])
        writer.close()
    _write_new_json(path, results)
    print(f"results: {path}\n{json.dumps(results, indent=2)}")
    return result, results


def _cluster(model, dataset, image_size, data_dir, eval_images,
             cluster_samples, cluster_epochs, seed, conditional):
    """The clustering accuracy of the first ``eval_images`` test images
    (and the conditional accuracy when ``conditional``)."""
    test = load_dataset(dataset, split="test", image_size=image_size,
                        data_dir=data_dir, with_labels=True, shuffle=False,
                        batch_size=256, drop_remainder=False, cache=False)
    xs, ys = [], []
    for x, y in test.take(-(-int(eval_images) // 256)):
        xs.append(x.numpy())
        ys.append(y.numpy())
    x_real = np.concatenate(xs)[:eval_images]
    y_real = np.concatenate(ys)[:eval_images]
    acc, _, _ = gmgan_clustering_accuracy(
        model, x_real, y_real, num_samples=cluster_samples,
        epochs=cluster_epochs, seed=seed)
    print(f"Clustering accuracy on {len(y_real)} held-out images: {acc:.4f}")
    out = {"clustering_accuracy": float(acc), "eval_images": int(len(y_real))}
    if conditional:
        # Does Gaussian y give digit y according to the domain classifier
        # (trained on real digits)?
        out["conditional_accuracy"] = conditional_accuracy(
            model, image_size, n_per_component=200, seed=seed)
        print(f"Domain-classifier agreement of G(z_y) with y: "
              f"{out['conditional_accuracy']:.4f}")
    return out


def results_path(run_dir, step, evaluation):
    """``(path, existing)``: ``<run>/results_<step>.json`` and its content
    when it (or a ``_<i>`` variant) holds these ``evaluation`` settings,
    else the first free name and None."""
    index = 0
    while True:
        suffix = f"_{index}" if index else ""
        path = os.path.join(run_dir, f"results_{step}{suffix}.json")
        if not os.path.exists(path):
            return path, None
        with open(path, encoding="utf-8") as handle:
            existing = json.load(handle)
        if not config_differences({"e": existing.get("evaluation")},
                                  {"e": evaluation}):
            return path, existing
        index += 1


def _write_new_json(path, obj):
    """Writes ``obj`` to ``path`` through a temporary file, never replacing
    an existing file (FileExistsError)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, sort_keys=True)
        handle.write("\n")
    try:
        os.link(tmp, path)
    finally:
        os.remove(tmp)
