"""Scores of a trained GAN: FID, KID, IS, the 5-NN two-sample test,
precision/recall, density/coverage and MS-SSIM, saved with their metadata.

Command line::

    python -m deep_learning.tools.evaluate RUN_DIR --metrics fid,kid,is,knn,pr \\
        --num 10000 --extractor domain --reference mnist_bundled:test \\
        --resize tf_bilinear [--step 20000] [--truncate 0.25] [--seed 0]

writes `RUN_DIR/eval/scores_<step>.json`; an existing file is never
replaced unless `--overwrite` is given (a suffix `_1`, `_2`, ... is added
instead). The file holds `scores` (flat name -> float) and `metadata`:
sample counts, reference dataset/split/size and cache file, the extractor's
full configuration (name, resize mode, quantisation, weights identity),
truncation, seed, EMA use, metric parameters, checkpoint and step.

Protocol (HMoG paper, section 4 of `hmog_paper_and_code.md`): `num` fakes
from z ~ N(0, I) (no truncation unless asked), in chunks of `sample_chunk`
drawn with seeds derived from `seed`, against the reference split's
features (cached by `general_tools.reference_stats`). FID uses the float64
moments; KID, k-NN, PR and DC use the feature matrices
(`general_tools.metrics.feature_metrics`); IS uses the extractor's logits;
MS-SSIM (`general_tools.ms_ssim`) uses `msssim_pairs` random pairs of fakes
and of reference images.

Extractors (`--extractor`): `domain` (the toolkit's classifier of the
reference dataset, trained and cached on first use; offline),
`inception_graph` (the 2015-12-05 graph: literature-comparable FID/IS),
`keras_inception` (Keras ImageNet InceptionV3) or a `.keras` file (a domain
classifier, or any model whose output is the feature vector).
"""

import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from deep_learning.engine import run_folder
from deep_learning.tools import toy_evaluation
from experiment_spec import cli
from experiment_spec.flags import (ExperimentParser, UsageError, fraction,
                                   non_negative_int, positive_int)
from general_tools import domain_classifier as dc_lib
from general_tools import features as features_lib
from general_tools import metrics as metrics_lib
from general_tools import ms_ssim as ms_ssim_lib
from general_tools import reference_stats as ref_lib

METRICS = ("fid", "kid", "is", "knn", "pr", "dc", "msssim")
EXTRACTORS = ("domain", "inception_graph", "keras_inception")


def parse_metrics(metrics):
    """A comma-separated string or a sequence -> tuple of metric names."""
    if isinstance(metrics, str):
        metrics = [m.strip().lower() for m in metrics.split(",")]
    metrics = tuple(m for m in metrics if m)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"`metrics` must be a non-empty subset of {METRICS}; received "
            f"{metrics!r}.")
    return metrics


def make_extractor(name, resize="tf_bilinear", dataset="mnist_bundled",
                   image_size=32, cache_dir=None, train_if_missing=True):
    """Builds an extractor from its command-line name.

    Args:
        name: str. one of `EXTRACTORS` or a `.keras` file.
        resize: str. resize method of `general_tools.features`. Defaults to
            "tf_bilinear".
        dataset: str. dataset of the `domain` classifier. Defaults to
            "mnist_bundled".
        image_size: int or `(h, w)`. input size of the `domain`
            classifier (the generator's). Defaults to 32.
        cache_dir: str or None. cache root. Defaults to None.
        train_if_missing: bool. train the `domain` classifier when it is
            not cached. Defaults to True.

    Returns:
        a `general_tools.features.FeatureExtractor`.
    """
    if name == "domain":
        path = dc_lib.default_classifier_path(dataset, image_size, cache_dir)
        if not os.path.isfile(path):
            if not train_if_missing:
                raise ValueError(f"No domain classifier at {path!r}.")
            print(f"Training the domain classifier of {dataset!r} into "
                  f"{path} ...", file=sys.stderr, flush=True)
        _, path = dc_lib.get_domain_classifier(dataset, image_size,
                                               cache_dir, train_if_missing)
        return dc_lib.DomainClassifierExtractor(path, resize=resize)
    if name == "inception_graph":
        return features_lib.InceptionGraphExtractor(cache_dir=cache_dir,
                                                    resize=resize)
    if name == "keras_inception":
        return features_lib.KerasInceptionExtractor(resize=resize)
    if str(name).endswith(".keras"):
        if not os.path.isfile(name):
            raise ValueError(f"Extractor file {name!r} does not exist.")
        model = keras.saving.load_model(name, compile=False)
        layers = {layer.name for layer in model.layers}
        if {dc_lib.FEATURE_LAYER, dc_lib.LOGITS_LAYER} <= layers:
            return dc_lib.DomainClassifierExtractor(name, resize=resize)
        return features_lib.KerasModelExtractor(model, resize=resize)
    raise ValueError(
        f"`extractor` must be one of {EXTRACTORS} or a .keras file; "
        f"received {name!r}.")


def _chunk_seed(seed, index):
    """Independent 31-bit seed of sample chunk `index` under `seed`."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1)
    return int(state[0] % (2 ** 31 - 1))


def sample_batches(model, num, seed=0, truncation=None, use_ema=None,
                   chunk=500, keep=0, kept=None):
    """Yields `num` generated images in chunks; the first `keep` are also
    appended to the list `kept` (for MS-SSIM)."""
    for index, start in enumerate(range(0, int(num), int(chunk))):
        n = min(int(chunk), int(num) - start)
        images = model.sample(n, seed=_chunk_seed(seed, index),
                              truncation=truncation, use_ema=use_ema)
        if kept is not None and start < keep:
            kept.append(images[:keep - start])
        yield images


def _check_count(value, name, minimum=1):
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}; received {value!r}.")
    return int(value)


def check_request(metrics=None, num=10000, k=5, num_reference=None,
                  kid_subset_size=1000, toy=False):
    """Raises ValueError naming the argument when a request cannot be
    scored. :func:`evaluate_run` and the command run it before anything
    costly (loading the model, training the domain classifier, the
    reference statistics).

    Args:
        metrics: str, sequence or None. as for :func:`evaluate_run`.
        num: int. generated images (points).
        k: int. neighbours of knn/pr/dc.
        num_reference: int or None. reference images (None: the split).
        kid_subset_size: int. KID subset size.
        toy: bool. the run is a 2-D toy (scored with the toy metrics).

    Returns:
        tuple of metric names (``('toy',)`` for a toy run).
    """
    num = _check_count(num, "num", 2)
    if toy:
        if metrics not in (None, "toy", ("toy",), ["toy"]):
            raise ValueError(
                f"`metrics`: a 2-D run is scored with the toy metrics "
                f"{list(toy_evaluation.TOY_METRICS)}; received {metrics!r}.")
        return ("toy",)
    metrics = parse_metrics(metrics or ("fid",))
    k = _check_count(k, "k")
    radii = [m for m in metrics if m in ("pr", "dc")]
    if "pr" in metrics and k >= num:
        raise ValueError(
            f"`k` ({k}) must be smaller than `num` ({num}): precision and "
            "recall take k-NN radii among the generated images.")
    if num_reference is not None:
        num_reference = _check_count(num_reference, "num_reference", 2)
        if radii and k >= num_reference:
            raise ValueError(
                f"`k` ({k}) must be smaller than `num_reference` "
                f"({num_reference}): {'/'.join(radii)} take k-NN radii "
                "among the reference images.")
    if "kid" in metrics and _check_count(kid_subset_size,
                                         "kid_subset_size") < 2:
        raise ValueError(
            f"`kid_subset_size` must be at least 2 for KID; received "
            f"{kid_subset_size!r}.")
    return metrics


def evaluate_model(model, reference, extractor, metrics=("fid",), num=10000,
                   seed=0, truncation=None, use_ema=None, k=5,
                   kid_subsets=100, kid_subset_size=1000, is_splits=10,
                   msssim_pairs=500, msssim_options=None, real_images=None,
                   batch_size=100, sample_chunk=500):
    """Scores of a GAN against reference features.

    Args:
        model: `deep_learning.models.gan.GAN` (anything with `sample`).
        reference: `reference_stats.ReferenceStats`, or real images (array
            or iterable of batches) whose features are computed here.
        extractor: `general_tools.features.FeatureExtractor`.
        metrics: str or sequence of `METRICS`. Defaults to ("fid",).
        num: int. generated images. Defaults to 10000 (HMoG protocol).
        seed: int. seed of the latent draws (and KID subsets, MS-SSIM
            pairs). Defaults to 0.
        truncation: float or None. fraction of least likely codes dropped
            (`GAN.latent_codes`); None for scores. Defaults to None.
        use_ema: bool or None. EMA generator (None: when present).
        k: int. neighbours of knn/pr/dc. Defaults to 5.
        kid_subsets: int. KID subsets. Defaults to 100.
        kid_subset_size: int. KID subset size (clipped to the set sizes).
            Defaults to 1000.
        is_splits: int. IS splits (clipped to `num`). Defaults to 10.
        msssim_pairs: int. random pairs for MS-SSIM per set. Defaults to
            500.
        msssim_options: dict or None. `ms_ssim_pairs` arguments
            (`image_size`, `resize`, ...). Defaults to None.
        real_images: array or None. real images for the MS-SSIM of the
            data (at least 2 * `msssim_pairs` are used); None skips
            `msssim_real`. Defaults to None.
        batch_size: int. extractor batch size. Defaults to 100.
        sample_chunk: int. images generated per call. Defaults to 500.

    Returns:
        dict with `scores` (name -> float) and `metadata`.
    """
    metrics = parse_metrics(metrics)
    num = _check_count(num, "num", 2)
    start_time = time.time()
    if not isinstance(reference, ref_lib.ReferenceStats):
        reference = ref_lib.compute_reference_stats(
            reference, extractor, batch_size,
            metadata={"source": "images given to evaluate_model"})
    needs_features = [m for m in metrics if m in ("kid", "knn", "pr", "dc")]
    if needs_features and reference.features is None:
        raise ValueError(
            f"Metrics {needs_features} need the reference feature matrix; "
            "compute the reference with keep_features=True.")
    if "is" in metrics and "logits" not in extractor.output_names:
        raise ValueError(
            f"The Inception Score needs logits; extractor "
            f"{type(extractor).__name__} has only {extractor.output_names}.")
    pairs = _check_count(msssim_pairs, "msssim_pairs")
    kept = []
    wanted = [n for n in extractor.output_names
              if n == "features" or (n == "logits" and "is" in metrics)]
    keep = 2 * pairs if "msssim" in metrics else 0
    fake = extractor.extract(
        sample_batches(model, num, seed, truncation, use_ema, sample_chunk,
                       keep, kept), batch_size=batch_size, outputs=wanted)
    scores, params = {}, {}
    if "fid" in metrics:
        mu, sigma = metrics_lib.feature_statistics(fake["features"])
        scores["fid"] = metrics_lib.frechet_distance_from_stats(
            reference.mu, reference.sigma, mu, sigma)
    if needs_features:
        subset = min(int(kid_subset_size), len(reference.features), num)
        params.update(k=int(k), kid_subsets=int(kid_subsets),
                      kid_subset_size=subset)
        values = metrics_lib.feature_metrics(
            reference.features, fake["features"], metrics=needs_features,
            k=k, kid_subsets=kid_subsets, kid_subset_size=subset, seed=seed)
        for key, value in values.items():
            prefixed = key in ("fake_fraction", "real_fraction", "accuracy",
                               "real_accuracy", "fake_accuracy")
            scores[("knn_" + key) if prefixed else key] = float(value)
    if "is" in metrics:
        splits = min(int(is_splits), num)
        params["is_splits"] = splits
        scores["is"], scores["is_std"] = metrics_lib.inception_score(
            fake["logits"], splits=splits)
        if reference.logits is not None:
            scores["is_real"], scores["is_real_std"] = \
                metrics_lib.inception_score(
                    reference.logits, splits=min(splits,
                                                 len(reference.logits)))
    if "msssim" in metrics:
        options = dict(msssim_options or {})
        fakes = np.concatenate(kept)
        scores["msssim_fake"], scores["msssim_fake_std"] = \
            ms_ssim_lib.pairwise_ms_ssim(fakes, min(pairs, len(fakes) // 2),
                                         seed=seed, **options)
        if real_images is not None:
            reals = np.asarray(real_images)[:2 * pairs]
            scores["msssim_real"], scores["msssim_real_std"] = \
                ms_ssim_lib.pairwise_ms_ssim(
                    reals, min(pairs, len(reals) // 2), seed=seed, **options)
        params["msssim"] = {"pairs": min(pairs, len(fakes) // 2),
                            "image_size": options.get("image_size", 256),
                            "resize": options.get("resize", "tf_bilinear")}
    ref_meta = {key: value for key, value in reference.metadata.items()
                if key != "extractor"}
    metadata = {
        "metrics": list(metrics), "num_fake": num,
        "num_real": int(reference.num_images or 0),
        "reference": ref_meta, "extractor": extractor.get_config(),
        "resize": extractor.resize, "truncation": truncation,
        "seed": int(seed), "sample_chunk": int(sample_chunk),
        "use_ema": bool(getattr(model, "ema", None) is not None)
        if use_ema is None else bool(use_ema),
        **params, "duration_s": round(time.time() - start_time, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }
    return {"scores": {k: float(v) for k, v in scores.items()},
            "metadata": metadata}


def default_reference(run_dir):
    """The test split of the data the run trained on (``config.json``'s
    ``data.name``; runs made before the run-folder rework recorded it as
    ``user.dataset``)."""
    config = run_folder.read_config(run_dir) or {}
    dataset = (config.get("data") or {}).get("name") or (
        config.get("user") or {}).get("dataset")
    if not isinstance(dataset, str) or dataset == "custom":
        raise ValueError(
            f"The run {run_dir!r} does not record its dataset (config.json "
            "data.name); pass `reference`, e.g. 'mnist_bundled:test'.")
    return f"{dataset}:test"


def scores_path(run_dir, step, overwrite=False):
    """`<run>/eval/scores_<step>.json`, or the first free `_<i>` variant."""
    folder = os.path.join(run_dir, "eval")
    path = os.path.join(folder, f"scores_{step}.json")
    index = 0
    while not overwrite and os.path.exists(path):
        index += 1
        path = os.path.join(folder, f"scores_{step}_{index}.json")
    return path


def evaluate_toy_model(model, data, num=2500, seed=0, k=5):
    """The toy study's scores (``toy_evaluation.TOY_METRICS``) of a 2-D
    model against the held-out split of the toy ``data`` (a run's
    ``config.json`` ``data`` entry); the result dict of
    :func:`evaluate_model`'s shape."""
    real, mixture = toy_evaluation.toy_reference(data)
    points, generators = toy_evaluation.toy_samples(model, int(num),
                                                    int(seed))
    scores = toy_evaluation.toy_scores(points, generators, real, mixture,
                                       k=int(k))
    return {"scores": {key: float(v) for key, v in scores.items()},
            "metadata": {
                "metrics": ["toy"], "num_fake": int(num),
                "num_real": int(len(real)), "seed": int(seed), "k": int(k),
                "reference": {"dataset": data["name"], "split": "test",
                              "data_seed": data.get("data_seed")},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "tensorflow": tf.__version__, "keras": keras.__version__}}


def evaluate_run(run_dir, metrics=None, num=10000, extractor="domain",
                 reference=None, resize="tf_bilinear", step=None,
                 num_reference=None, cache_dir=None, out=None,
                 overwrite=False, data_dir=None, **kwargs):
    """Loads a run's checkpoint, scores it and writes the JSON file.

    A run of a 2-D toy is scored with the toy study's metrics against its
    toy's held-out split (:func:`evaluate_toy_model`; ``metrics`` must be
    None or ``'toy'``, ``num`` points, ``seed`` and ``k`` apply).

    Args:
        run_dir: str. run folder (with `model.json`).
        metrics: str, sequence or None. None: ``("fid",)`` for images,
            ``'toy'`` for 2-D runs. Defaults to None.
        num: int. generated images. Defaults to 10000.
        extractor: str or `FeatureExtractor`. see `make_extractor`.
            Defaults to "domain".
        reference: str or None. `"DATASET[:SPLIT]"` (split defaults to
            test); None reads `config.json`. Defaults to None.
        resize: str. resize method of the extractor. Defaults to
            "tf_bilinear".
        step: int or None. checkpoint step; None is the newest.
        num_reference: int or None. reference images (None: whole split).
        cache_dir: str or None. cache root. Defaults to None.
        out: str or None. output file; None is `scores_path(...)`.
        overwrite: bool. replace an existing output file. Defaults to
            False.
        data_dir: str or None. `load_dataset` data folder.
        **kwargs: more `evaluate_model` arguments.

    Returns:
        `(result, path)`: the dict of `evaluate_model` and the file written.
    """
    if out is not None and os.path.exists(out) and not overwrite:
        raise ValueError(f"{out!r} exists; pass overwrite=True to replace "
                         "it.")
    toy = toy_evaluation.is_toy(
        (run_folder.read_config(run_dir) or {}).get("data"))
    check_request(metrics, num, kwargs.get("k", 5), num_reference,
                  kwargs.get("kid_subset_size", 1000), toy)
    if reference is not None:
        ref_lib.parse_reference(reference)
    model = run_folder.load_run(run_dir, step)
    step = run_folder.model_step(model)
    _check_sampling(model, kwargs.get("use_ema"), kwargs.get("truncation"))
    if not run_folder.is_image_model(model):
        if metrics not in (None, "toy", ("toy",), ["toy"]):
            raise ValueError(
                f"{run_dir} is a 2-D run: it is scored with the toy metrics "
                f"{list(toy_evaluation.TOY_METRICS)}; --metrics "
                f"{metrics!r} applies to image runs.")
        data = (run_folder.read_config(run_dir) or {}).get("data")
        result = evaluate_toy_model(model, data, num, kwargs.get("seed", 0),
                                    kwargs.get("k", 5))
        return _write_scores(result, model, run_dir, step, out, overwrite)
    metrics = parse_metrics(metrics or ("fid",))
    dataset, split = ref_lib.parse_reference(
        reference or default_reference(run_dir))
    height, width, channels = model.image_shape
    if isinstance(extractor, str):
        extractor = make_extractor(extractor, resize, dataset,
                                   (height, width), cache_dir)
    needs_features = any(m in metrics for m in ("kid", "knn", "pr", "dc"))
    stats = ref_lib.reference_stats(
        dataset, extractor, split=split, image_size=(height, width),
        channels=channels, num=num_reference, cache_dir=cache_dir,
        keep_features=needs_features, data_dir=data_dir)
    real_images = None
    if "msssim" in metrics:
        pairs = int(kwargs.get("msssim_pairs", 500))
        real_images = np.concatenate(list(ref_lib.reference_images(
            dataset, split, (height, width), channels, 2 * pairs,
            data_dir=data_dir)))
    result = evaluate_model(model, stats, extractor, metrics, num,
                            real_images=real_images, **kwargs)
    return _write_scores(result, model, run_dir, step, out, overwrite)


def _check_sampling(model, use_ema, truncation):
    """Raises ValueError when the loaded model cannot sample as asked (no
    EMA generator, truncation of a latent other than the normal)."""
    if use_ema and getattr(model, "ema", None) is None:
        raise ValueError("`use_ema` (--ema yes): the run has no EMA "
                         "generator (trained with ema_decay=None).")
    latent = getattr(model, "latent", "normal")
    if truncation and latent != "normal":
        raise ValueError(
            f"`truncation` (--truncate) needs the 'normal' latent; the run's "
            f"latent is {latent!r}.")


def _write_scores(result, model, run_dir, step, out, overwrite):
    result["metadata"].update(
        run_dir=os.path.abspath(run_dir), step=step,
        checkpoint=os.path.basename(model.checkpoint_path),
        model_class=type(model).__name__)
    path = out or scores_path(run_dir, step, overwrite)
    ref_lib.write_bytes_atomic(path, (json.dumps(
        result, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return result, path


def build_parser():
    """The command-line parser of ``python -m deep_learning.evaluate``."""
    parser = ExperimentParser(
        "Score a trained run; writes RUN_DIR/eval/scores_<step>.json (a "
        "free name: an existing file is kept unless --overwrite). A 2-D toy "
        "run is scored with the toy study's metrics against its toy's "
        "held-out points.", common=(),
        prog="python -m deep_learning.evaluate")
    parser.add_argument("run_dir", help="the run folder")
    parser.add_argument("--metrics", default=None,
                        help=f"comma-separated subset of {METRICS} (default "
                             "fid,kid,knn,pr; 2-D runs: the toy metrics)")
    parser.add_argument("--num", type=positive_int, default=None,
                        help="generated images (default 10000; 2-D runs: "
                             "2500 points)")
    parser.add_argument("--extractor", default="domain",
                        help=f"one of {EXTRACTORS} or a .keras file")
    parser.add_argument("--reference", default=None,
                        help="DATASET[:SPLIT], split defaults to test "
                             "(default: the data the run trained on)")
    parser.add_argument("--num_reference", type=positive_int, default=None)
    parser.add_argument("--resize", default="tf_bilinear",
                        choices=features_lib.RESIZE_METHODS)
    parser.add_argument("--step", type=non_negative_int, default=None,
                        help="checkpoint step (default: the newest "
                             "readable)")
    parser.add_argument("--truncate", type=fraction, default=None,
                        help="fraction of least likely codes to disregard")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--ema", choices=("auto", "yes", "no"),
                        default="auto")
    parser.add_argument("--k", type=positive_int, default=5)
    parser.add_argument("--kid_subsets", type=positive_int, default=100)
    parser.add_argument("--kid_subset_size", type=positive_int,
                        default=1000)
    parser.add_argument("--is_splits", type=positive_int, default=10)
    parser.add_argument("--msssim_pairs", type=positive_int, default=500)
    parser.add_argument("--msssim_size", type=non_negative_int, default=256,
                        help="MS-SSIM resize target; 0 keeps the size "
                             "with reduced scales")
    parser.add_argument("--batch_size", type=positive_int, default=100)
    parser.add_argument("--cache_dir", default=None)
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--out", default=None,
                        help="output JSON (default RUN_DIR/eval/"
                             "scores_<step>.json)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output file")

    @parser.add_check
    def _check(args):
        if args.metrics not in (None, "toy"):
            try:
                args.metrics = ",".join(parse_metrics(args.metrics))
            except ValueError as error:
                raise UsageError(f"argument --metrics: {error}") from None
        if not os.path.isdir(args.run_dir):
            raise UsageError(f"argument run_dir: no such folder: "
                             f"{args.run_dir!r}")
        if args.out and os.path.exists(args.out) and not args.overwrite:
            raise UsageError(f"argument --out: {args.out} exists; pass "
                             "--overwrite to replace it")
        if args.extractor not in EXTRACTORS and not (
                args.extractor.endswith(".keras")
                and os.path.isfile(args.extractor)):
            raise UsageError(f"argument --extractor: one of {EXTRACTORS} or "
                             f"an existing .keras file; received "
                             f"{args.extractor!r}")
        if args.reference is not None:
            try:
                ref_lib.parse_reference(args.reference)
            except ValueError as error:
                raise UsageError(f"argument --reference: {error}") from None
        toy = _is_toy_run(args.run_dir)
        try:
            check_request(args.metrics, args.num or (2500 if toy else 10000),
                          args.k, args.num_reference, args.kid_subset_size,
                          toy)
        except ValueError as error:
            flag = str(error).split("`")[1] if "`" in str(error) else "num"
            raise UsageError(f"argument --{flag}: {error}") from None
    return parser


def _is_toy_run(run_dir):
    return toy_evaluation.is_toy(
        (run_folder.read_config(run_dir) or {}).get("data"))


def main(argv=None):
    """Entry point of ``python -m deep_learning.evaluate``; returns the
    exit status."""
    args = build_parser().parse(argv)
    toy = _is_toy_run(args.run_dir)
    result, path = evaluate_run(
        args.run_dir, metrics=args.metrics,
        num=args.num or (2500 if toy else 10000),
        extractor=args.extractor, reference=args.reference,
        resize=args.resize, step=args.step, num_reference=args.num_reference,
        cache_dir=args.cache_dir, out=args.out, overwrite=args.overwrite,
        data_dir=args.data_dir, seed=args.seed, truncation=args.truncate,
        use_ema={"auto": None, "yes": True, "no": False}[args.ema],
        k=args.k, kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size, is_splits=args.is_splits,
        msssim_pairs=args.msssim_pairs,
        msssim_options={"image_size": args.msssim_size or None},
        batch_size=args.batch_size)
    for name, value in sorted(result["scores"].items()):
        print(f"{name:>20s}: {value:.6g}")
    print(f"wrote {path}")
    return 0


__all__ = ["EXTRACTORS", "METRICS", "build_parser", "check_request",
           "default_reference", "evaluate_model", "evaluate_run",
           "evaluate_toy_model", "main", "make_extractor", "parse_metrics",
           "sample_batches", "scores_path"]


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m deep_learning.evaluate"))
