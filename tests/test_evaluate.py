"""End to end: a tiny GAN trained 2 steps with `training.train`, its
`model.json`, `run_folder.load_run`, `python -m deep_learning.tools.evaluate` and
`python -m deep_learning.tools.sample` through their `main(argv)`; and
`evaluate_model`'s scores against numpy brute force on real images."""

import json
import os
import re
import shutil

import numpy as np
import pytest
import scipy.stats
import scipy.special
import tensorflow as tf
from PIL import Image

from deep_learning.tools import evaluate
from deep_learning.engine import run_folder
from deep_learning.tools import sample
from deep_learning.models.gan import GAN
from deep_learning.models.mixture_gans import (MADGAN, discriminator_spec,
                                               generator_spec)
from deep_learning.engine.schedules import make_adam
from deep_learning.engine.training import train
from general_tools import domain_classifier as dc
from general_tools import ms_ssim
from general_tools import reference_stats as ref
from general_tools.data import load_dataset

G = [{"name": "g1", "op": "d", "out": 128, "act": "relu",
      "out_reshape": [4, 4, 8]},
     {"name": "g2_up", "op": "tc", "out": 8, "kernel": 4, "strides": 2,
      "act": "relu"},
     {"name": "g3_up", "op": "tc", "out": 8, "kernel": 4, "strides": 2,
      "act": "relu"},
     {"name": "g4_up", "op": "tc", "out": 1, "kernel": 4, "strides": 2,
      "act": "tanh"}]
D = [{"name": "d1", "op": "c", "out": 8, "kernel": 4, "strides": 4,
      "act": ["lrelu", 0.2], "out_reshape": [512]},
     {"name": "d2", "op": "d", "out": 1}]


def _build(latent_dim=8):
    gan = GAN(G, D, latent_dim=latent_dim, gan_loss="logistic",
              ema_decay=0.5, seed=1)
    gan.compile(make_adam(1e-3), make_adam(1e-3))
    return gan


def _mnist(split, num):
    ds = load_dataset("mnist_bundled", split=split, batch_size=num,
                      shuffle=False)
    return next(iter(ds)).numpy()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    images = np.random.default_rng(0).uniform(
        -1, 1, (32, 32, 32, 1)).astype(np.float32)
    run_dir = str(root / "run")
    result = train(_build, tf.data.Dataset.from_tensor_slices(images),
                   steps=2, run_dir=run_dir, batch_size=8, steps_per_epoch=2,
                   verbose=0, callback_options=dict(image_every=0,
                                                    checkpoint_every=1))
    run_folder.save_model_config(run_dir, result.model)
    classifier = str(root / "classifier.keras")
    dc.train_domain_classifier("mnist_bundled", classifier, epochs=1,
                               max_examples=1000, eval_split=None)
    return {"run_dir": run_dir, "model": result.model,
            "classifier": classifier, "cache": str(root / "cache")}


# ----------------------------------------------------------- run_folder
def test_load_run_restores_the_checkpoint(setup):
    trained = setup["model"]
    loaded = run_folder.load_run(setup["run_dir"])
    assert type(loaded) is GAN and run_folder.model_step(loaded) == 2
    assert loaded.checkpoint_path.endswith("ckpt-2")
    assert len(loaded.variables) == len(trained.variables)
    for a, b in zip(loaded.variables, trained.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(loaded.sample(6, seed=4),
                                  trained.sample(6, seed=4))
    assert run_folder.checkpoint_steps(setup["run_dir"]) == [1, 2]
    first = run_folder.load_run(setup["run_dir"], step=1)
    assert run_folder.model_step(first) == 1
    assert not np.array_equal(np.asarray(first.generator.weights[0]),
                              np.asarray(loaded.generator.weights[0]))


def test_load_run_errors(setup, tmp_path):
    with pytest.raises(ValueError,
                       match=r"no checkpoint for step 7.*\[1, 2\]"):
        run_folder.load_run(setup["run_dir"], step=7)
    with pytest.raises(ValueError, match="is not a run folder"):
        run_folder.load_run(str(tmp_path))
    bare = tmp_path / "bare"
    shutil.copytree(setup["run_dir"], bare, ignore=shutil.ignore_patterns(
        "ckpt-*"))
    with pytest.raises(ValueError, match="has no checkpoint"):
        run_folder.load_run(str(bare))
    copy = str(tmp_path / "copy")
    shutil.copytree(setup["run_dir"], copy)
    os.remove(os.path.join(copy, "model.json"))
    with pytest.raises(ValueError, match="model.json.*does not exist"):
        run_folder.load_run(copy)
    # A model.json of another architecture does not restore partially.
    run_folder.save_model_config(copy, _build(latent_dim=5))
    with pytest.raises(ValueError, match=r"shape \(5, 128\).*\(8, 128\)"):
        run_folder.load_run(copy)
    config = json.load(open(os.path.join(copy, "model.json")))
    config["config"]["ema_decay"] = None
    open(os.path.join(copy, "model.json"), "w").write(json.dumps(config))
    with pytest.raises(ValueError, match="configuration does not match"):
        run_folder.load_run(copy)


# ------------------------------------------------- scores vs brute force
class _RealImagesModel:
    """Stands in for a GAN: `sample` returns real training images."""

    ema = None

    def __init__(self, images):
        self.images = images
        self.calls = []

    def sample(self, n, seed=None, truncation=None, use_ema=None):
        start = sum(self.calls)
        self.calls.append(n)
        return self.images[start:start + n]


def _numpy_fid(a, b):
    """|mu_a - mu_b|^2 + tr(S_a + S_b) - 2 tr sqrt(S_a S_b), the last term
    from the eigenvalues of S_a S_b (real and >= 0 for two covariances;
    robust where the features have dead units and sqrtm warns)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(s1 @ s2).real
    root = np.sum(np.sqrt(np.clip(eig, 0.0, None)))
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2)
                 + np.trace(s1) + np.trace(s2) - 2 * root)


def _numpy_knn(real, fake, k=5):
    pooled = np.concatenate([real, fake]).astype(np.float64)
    is_fake = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    dist = ((pooled[:, None] - pooled[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    neighbours = np.argsort(dist, axis=1)[:, :k]
    fake_votes = is_fake[neighbours].mean(1)
    return (float(fake_votes[is_fake == 1].mean()),
            float(1 - fake_votes[is_fake == 0].mean()))


def _numpy_precision_recall(real, fake, k=5):
    def radii(x):
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    cross = np.sqrt(((real[:, None] - fake[None]) ** 2).sum(-1))
    precision = np.mean((cross <= radii(real)[:, None]).any(0))
    recall = np.mean((cross <= radii(fake)[None, :]).any(1))
    return float(precision), float(recall)


def _numpy_kid(real, fake):
    d = real.shape[1]
    kernel = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    m = len(real)
    krr, kff = kernel(real, real), kernel(fake, fake)
    return float((krr.sum() - np.trace(krr) + kff.sum() - np.trace(kff))
                 / (m * (m - 1)) - 2 * kernel(real, fake).mean())


def _numpy_is(logits, splits):
    probs = scipy.special.softmax(logits.astype(np.float64), axis=1)
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(0)
        kl = np.sum(part * (np.log(part) - np.log(marginal)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores))


def test_evaluate_model_matches_numpy(setup):
    extractor = dc.DomainClassifierExtractor(setup["classifier"])
    reals, fakes = _mnist("test", 150), _mnist("train", 150)
    model = _RealImagesModel(fakes)
    result = evaluate.evaluate_model(
        model, reals, extractor, metrics="fid,kid,is,knn,pr,msssim",
        num=150, kid_subsets=1, kid_subset_size=150, is_splits=5,
        msssim_pairs=3, msssim_options={"image_size": None},
        real_images=reals, sample_chunk=64, seed=3)
    scores, meta = result["scores"], result["metadata"]
    assert model.calls == [64, 64, 22]
    real_out = extractor.extract(reals)
    fake_out = extractor.extract(fakes)
    rf, ff = real_out["features"], fake_out["features"].astype(np.float64)
    assert scores["fid"] == pytest.approx(_numpy_fid(rf, ff), rel=1e-4)
    assert scores["kid"] == pytest.approx(
        _numpy_kid(rf.astype(np.float64), ff), rel=1e-3, abs=1e-6)
    fake_fraction, real_fraction = _numpy_knn(rf, ff)
    assert 0.3 < fake_fraction < 0.8  # real vs real: near chance
    assert scores["knn_fake_fraction"] == pytest.approx(fake_fraction)
    assert scores["knn_real_fraction"] == pytest.approx(real_fraction)
    precision, recall = _numpy_precision_recall(rf.astype(np.float64), ff)
    assert scores["precision"] == pytest.approx(precision)
    assert scores["recall"] == pytest.approx(recall)
    assert scores["is"] == pytest.approx(
        _numpy_is(fake_out["logits"], 5), rel=1e-5)
    assert scores["is_real"] == pytest.approx(
        _numpy_is(real_out["logits"], 5), rel=1e-5)
    assert scores["msssim_fake"] == pytest.approx(ms_ssim.pairwise_ms_ssim(
        fakes[:6], 3, seed=3, image_size=None)[0], rel=1e-6)
    assert scores["msssim_real"] == pytest.approx(ms_ssim.pairwise_ms_ssim(
        reals[:6], 3, seed=3, image_size=None)[0], rel=1e-6)
    assert meta["num_fake"] == 150 and meta["num_real"] == 150
    assert meta["is_splits"] == 5 and meta["kid_subset_size"] == 150
    assert meta["extractor"]["extractor"] == "domain_classifier"
    with pytest.raises(ValueError, match="metrics"):
        evaluate.evaluate_model(model, reals, extractor, metrics="fid,lpips")


# ------------------------------------------------------------- commands
def _written(capsys):
    """The path a command printed as ``wrote <path> ...``."""
    lines = [x for x in capsys.readouterr().out.splitlines()
             if x.startswith("wrote ")]
    return lines[-1].split()[1]


def test_evaluate_command_writes_scores_and_metadata(setup, capsys):
    run_dir = setup["run_dir"]
    argv = [run_dir, "--metrics", "fid,kid,is,knn,pr,msssim", "--num", "120",
            "--extractor", setup["classifier"], "--reference",
            "mnist_bundled:test", "--num_reference", "130", "--cache_dir",
            setup["cache"], "--kid_subsets", "4", "--kid_subset_size", "50",
            "--msssim_pairs", "3", "--msssim_size", "0", "--seed", "5"]
    assert evaluate.main(argv) == 0
    path = _written(capsys)
    assert path == os.path.join(run_dir, "eval", "scores_2.json")
    result = json.load(open(path))
    scores, meta = result["scores"], result["metadata"]
    for key in ("fid", "kid", "kid_std", "is", "is_std", "knn_fake_fraction",
                "knn_real_fraction", "knn_accuracy", "precision", "recall",
                "msssim_fake", "msssim_real"):
        assert np.isfinite(scores[key]), key
    assert meta["num_fake"] == 120 and meta["num_real"] == 130
    assert meta["reference"]["dataset"] == "mnist_bundled"
    assert meta["reference"]["split"] == "test"
    assert meta["reference"]["image_size"] == [32, 32]
    assert meta["reference"]["cache_file"].startswith(
        "mnist_bundled_test_32x32_domain_classifier_tf_bilinear_")
    assert meta["extractor"]["classifier"] == "classifier.keras"
    assert meta["resize"] == "tf_bilinear" and meta["seed"] == 5
    assert meta["truncation"] is None and meta["use_ema"] is True
    assert meta["step"] == 2 and meta["checkpoint"] == "ckpt-2"
    assert meta["kid_subsets"] == 4 and meta["kid_subset_size"] == 50

    # The FID equals numpy on the same fakes (chunk seed of evaluate) and
    # the first 130 test images.
    model = run_folder.load_run(run_dir)
    seed = int(np.random.SeedSequence([5, 0]).generate_state(1)[0]
               % (2 ** 31 - 1))
    fakes = model.sample(120, seed=seed)
    extractor = dc.DomainClassifierExtractor(setup["classifier"])
    want = _numpy_fid(extractor(_mnist("test", 130)), extractor(fakes))
    assert scores["fid"] == pytest.approx(want, rel=1e-4)

    # Never overwritten silently; --overwrite replaces; --out must be free.
    evaluate.main(argv + ["--metrics", "fid"])
    second = _written(capsys)
    assert second.endswith("scores_2_1.json")
    assert json.load(open(path))["scores"] == scores
    evaluate.main(argv + ["--metrics", "fid", "--overwrite"])
    assert _written(capsys) == path
    assert "kid" not in json.load(open(path))["scores"]
    with pytest.raises(SystemExit) as stop:  # checked before any work
        evaluate.main(argv + ["--metrics", "fid", "--out", second])
    assert stop.value.code == 2
    assert "--out" in capsys.readouterr().err
    # The reference statistics came from the cache the second time.
    assert len(os.listdir(os.path.join(setup["cache"],
                                       ref.CACHE_SUBDIR))) == 2


BAD_EVALUATE_FLAGS = [
    (["--num", "1"], r"argument --num: `num` must be an integer >= 2"),
    (["--metrics", "pr", "--num", "5", "--k", "5"],
     r"argument --k: `k` \(5\) must be smaller than `num` \(5\)"),
    (["--metrics", "dc", "--num_reference", "3", "--k", "3"],
     r"argument --k: `k` \(3\) must be smaller than `num_reference`"),
    (["--metrics", "kid", "--kid_subset_size", "1"],
     r"argument --kid_subset_size: .* at least 2"),
    (["--metrics", "toy"], r"argument --metrics: `metrics` must be"),
    (["--truncate", "1.5"], r"argument --truncate: must be a fraction"),
    (["--extractor", "missing.keras"], r"argument --extractor: one of"),
    (["--reference", " "], r"argument --reference: `reference` must be"),
]


@pytest.mark.parametrize("flags,pattern", BAD_EVALUATE_FLAGS,
                         ids=[f[0][-2] for f in BAD_EVALUATE_FLAGS])
def test_evaluate_checks_arguments_before_any_work(setup, tmp_path, capsys,
                                                   monkeypatch, flags,
                                                   pattern):
    """A bad argument stops the command before the model is loaded, the
    domain classifier trained or reference statistics computed."""
    def too_early(*args, **kwargs):
        raise AssertionError("work started before the arguments were "
                             "checked")

    for name in ("make_extractor", "evaluate_model"):
        monkeypatch.setattr(evaluate, name, too_early)
    monkeypatch.setattr(run_folder, "load_run", too_early)
    monkeypatch.setattr(ref, "reference_stats", too_early)
    with pytest.raises(SystemExit) as stop:
        evaluate.main([setup["run_dir"], "--cache_dir", str(tmp_path),
                       *flags])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(pattern, err), err
    # The library entry point checks the same before loading the model.
    if flags[0] == "--num":
        with pytest.raises(ValueError, match="`num` must be an integer >= 2"):
            evaluate.evaluate_run(setup["run_dir"], num=1)


def test_evaluate_checks_the_model_before_scoring(setup, monkeypatch):
    """--ema yes on a run without EMA, --truncate on a uniform latent: named
    once the model is loaded, before the extractor is made."""
    def too_early(*args, **kwargs):
        raise AssertionError("scoring started before the model was checked")

    monkeypatch.setattr(evaluate, "make_extractor", too_early)
    plain = GAN(G, D, latent_dim=8, gan_loss="logistic", ema_decay=None,
                latent="uniform", seed=1)
    monkeypatch.setattr(run_folder, "load_run", lambda *a, **k: plain)
    monkeypatch.setattr(run_folder, "model_step", lambda model: 0)
    with pytest.raises(ValueError, match="the run has no EMA generator"):
        evaluate.evaluate_run(setup["run_dir"], use_ema=True)
    with pytest.raises(ValueError, match="needs the 'normal' latent; the "
                                         "run's latent is 'uniform'"):
        evaluate.evaluate_run(setup["run_dir"], truncation=0.25)


def test_sample_command_grids(setup, tmp_path, capsys):
    run_dir = setup["run_dir"]
    out = str(tmp_path / "grid.png")
    assert sample.main([run_dir, "--num", "16", "--truncate", "0.25",
                        "--out", out, "--save_npy"]) == 0
    assert _written(capsys) == out
    # An existing --out is refused (and kept) unless --overwrite.
    before = open(out, "rb").read()
    with pytest.raises(SystemExit) as stop:
        sample.main([run_dir, "--num", "4", "--out", out])
    assert stop.value.code == 2 and open(out, "rb").read() == before
    assert sample.main([run_dir, "--num", "4", "--out", out,
                        "--overwrite"]) == 0
    assert open(out, "rb").read() != before
    capsys.readouterr()
    assert sample.main([run_dir, "--num", "16", "--truncate", "0.25",
                        "--out", out, "--save_npy", "--overwrite"]) == 0
    Image.open(out).verify()
    saved = np.load(str(tmp_path / "grid.npy"))
    model = run_folder.load_run(run_dir)
    z = model.latent_codes(16, seed=0, truncation=0.25)
    limit = scipy.stats.chi2.ppf(0.75, 8)
    assert np.all(np.sum(np.square(z), axis=1) <= limit)
    np.testing.assert_allclose(saved, model.generate_images(z), atol=1e-6)

    sample.main([run_dir, "--interpolate", "3", "--columns", "5",
                 "--method", "linear"])
    assert _written(capsys) == os.path.join(run_dir, "samples",
                                            "interp_2.png")
    sample.main([run_dir, "--interpolate", "3", "--columns", "5"])
    assert _written(capsys).endswith("interp_2_1.png")
    with pytest.raises(ValueError, match="--head"):  # one output per code
        sample.main([run_dir, "--interpolate", "2", "--head", "1"])
    with pytest.raises(ValueError, match="--head: .* one generator output "
                                         "per code"):
        sample.main([run_dir, "--head", "0"])  # not ignored on samples
    for flags, message in (
            (["--rows", "-2"], "argument --rows: must be an integer > 0"),
            (["--rows", "9", "--num", "4"], "argument --rows: 9 rows for 4"),
            (["--interpolate", "2", "--rows", "2"],
             "argument --rows: an interpolation grid"),
            (["--out", str(tmp_path / "x.jpg")],
             "argument --out: the figure is a PNG")):
        with pytest.raises(SystemExit) as stop:
            sample.main([run_dir, *flags])
        assert stop.value.code == 2
        assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x.jpg")
    grid = sample.interpolation_grid(model, 3, steps=5, method="linear",
                                     seed=0)
    ends = np.asarray(model.latent_codes(6, seed=0))
    np.testing.assert_allclose(grid[0::5], model.generate_images(ends[0::2]),
                               atol=1e-5)
    np.testing.assert_allclose(grid[4::5], model.generate_images(ends[1::2]),
                               atol=1e-5)
    middle = model.generate_images((ends[0::2] + ends[1::2]) / 2)
    np.testing.assert_allclose(grid[2::5], middle, atol=1e-5)


def test_sample_head_picks_one_generator_of_a_multi_head_model(
        setup, tmp_path, monkeypatch, capsys):
    madgan = MADGAN(
        generator_spec("madgan", 2, start=(4, 4, 8), widths=(8, 8)),
        discriminator_spec("madgan", 2, widths=(8,)), num_generators=2,
        latent_dim=8, recipe="madgan", seed=1)
    monkeypatch.setattr(run_folder, "load_run", lambda *a, **k: madgan)
    monkeypatch.setattr(run_folder, "model_step", lambda model: 0)
    out = str(tmp_path / "head1.png")
    assert sample.main([setup["run_dir"], "--num", "4", "--head", "1",
                        "--out", out, "--save_npy"]) == 0
    images = np.load(str(tmp_path / "head1.npy"))
    heads = madgan.per_generator_samples(4, seed=0)
    np.testing.assert_allclose(images, heads[1], atol=1e-6)
    with pytest.raises(ValueError, match=r"--head: madgan has 2 heads \(0 "
                                         r"to 1\); received 2"):
        sample.main([setup["run_dir"], "--head", "2", "--out",
                     str(tmp_path / "no.png")])
    assert not os.path.exists(tmp_path / "no.png")


def test_interpolation_codes():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 4, 16))
    codes = sample.interpolation_codes(a, b, 7).reshape(4, 7, 16)
    np.testing.assert_allclose(codes[:, 0], a, atol=1e-5)
    np.testing.assert_allclose(codes[:, -1], b, atol=1e-5)
    # Equal norms: slerp stays on the sphere and moves at constant angle.
    b_eq = b / np.linalg.norm(b, axis=1, keepdims=True) * \
        np.linalg.norm(a, axis=1, keepdims=True)
    path = sample.interpolation_codes(a, b_eq, 7).reshape(4, 7, 16)
    np.testing.assert_allclose(np.linalg.norm(path, axis=2),
                               np.repeat(np.linalg.norm(a, axis=1)[:, None],
                                         7, axis=1), rtol=1e-5)
    unit = path / np.linalg.norm(path, axis=2, keepdims=True)
    steps = np.arccos(np.clip(np.sum(unit[:, 1:] * unit[:, :-1], 2), -1, 1))
    np.testing.assert_allclose(steps, steps[:, :1].repeat(6, 1), rtol=1e-3)
    linear = sample.interpolation_codes(a, b, 3, "linear").reshape(4, 3, 16)
    np.testing.assert_allclose(linear[:, 1], (a + b) / 2, atol=1e-6)
    # Parallel codes fall back to the straight line.
    para = sample.interpolation_codes(a[:1], 2 * a[:1], 3).reshape(3, 16)
    np.testing.assert_allclose(para[1], 1.5 * a[0], rtol=1e-5)
    with pytest.raises(ValueError, match="method"):
        sample.interpolation_codes(a, b, 3, "cubic")
    with pytest.raises(ValueError, match="steps"):
        sample.interpolation_codes(a, b, 1)


def test_fresh_process_loads_a_run_with_custom_layers(tmp_path):
    # A new interpreter has imported none of the builder's modules: loading
    # a run whose networks use the flat layer norm, spectral norm and a
    # mixture op must still find every class (the evaluate / sample /
    # interpretability commands start this way).
    import subprocess
    import sys
    g = [{"name": "mix", "op": "mog", "out": 32, "leaves": 2},
         {"name": "g2", "op": "tc", "out": 1, "kernel": 4, "strides": 4,
          "act": "tanh", "in_reshape": [2, 2, 8]}]
    d = [{"name": "d1", "op": "c", "out": 4, "kernel": 4, "strides": 4,
          "act": ["lrelu", 0.2], "act_nm": "ln", "w_nm": "s",
          "out_reshape": [-1]},
         {"name": "d2", "op": "d", "out": 1}]

    def build():
        gan = GAN(g, d, latent_dim=4, gan_loss="wasserstein", gp_weight=10.0,
                  seed=0)
        gan.compile(make_adam(1e-3), make_adam(1e-3))
        return gan
    images = np.zeros((16, 8, 8, 1), np.float32)
    run_dir = str(tmp_path / "run")
    result = train(build, tf.data.Dataset.from_tensor_slices(images),
                   steps=1, run_dir=run_dir, batch_size=4, verbose=0,
                   callback_options=dict(image_every=0))
    expected = result.model.sample(3, seed=5)
    z = np.asarray(result.model.latent_codes(3, seed=5))
    np.save(tmp_path / "z.npy", z)
    expected_g = np.asarray(result.model.generator(z))
    # A fresh process: `import deep_learning` alone registers every layer,
    # so both the run and its generator.keras load.
    code = ("import sys, numpy as np, keras, deep_learning; "
            "from deep_learning.engine import run_folder; "
            "m = run_folder.load_run(sys.argv[1]); "
            "np.save(sys.argv[2], m.sample(3, seed=5)); "
            "g = keras.saving.load_model(sys.argv[1] + '/generator.keras'); "
            "np.save(sys.argv[3], np.asarray(g(np.load(sys.argv[4]))))")
    out, out_g = str(tmp_path / "x.npy"), str(tmp_path / "g.npy")
    proc = subprocess.run([sys.executable, "-c", code, run_dir, out, out_g,
                           str(tmp_path / "z.npy")],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)
    np.testing.assert_allclose(np.load(out_g), expected_g, atol=1e-6)
