"""Figure helpers: the numbers behind each figure, and that PNGs land."""

import numpy as np
import pytest

from general_tools import figures


def test_image_grid_layout():
    imgs = np.arange(6 * 2 * 3 * 1, dtype=np.float32).reshape(6, 2, 3, 1)
    grid = figures.image_grid(imgs, rows=2, cols=3, pad=1, pad_value=-5)
    assert grid.shape == (2 * 3 - 1, 3 * 4 - 1, 1)
    np.testing.assert_array_equal(grid[3:5, 4:7], imgs[4])  # row 1, col 1
    assert grid[2, 0, 0] == -5
    with pytest.raises(ValueError, match="cannot hold 6"):
        figures.image_grid(imgs, rows=1, cols=2)


def test_gating_correlation_matches_numpy():
    rng = np.random.default_rng(0)
    usage = rng.dirichlet(np.ones(4), size=200)
    corr = figures.gating_correlation(usage)
    a, b = usage[:, 1], usage[:, 3]
    ref = ((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std())
    assert corr[1, 3] == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(np.diag(corr), 1)


def test_node_average_images():
    rng = np.random.default_rng(1)
    w = rng.random((10, 3))
    w[:, 0] = 1.0  # root weight 1 -> plain mean
    x = rng.normal(size=(10, 2, 2, 1))
    avg = figures.node_average_images(w, x)
    np.testing.assert_allclose(avg[0], x.mean(0))
    ref = sum(w[t, 2] * x[t] for t in range(10)) / w[:, 2].sum()
    np.testing.assert_allclose(avg[2], ref)
    with pytest.raises(ValueError, match="share N"):
        figures.node_average_images(w[:5], x)


def test_top_samples_per_leaf():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    idx = figures.top_samples_per_leaf(p, k=2)
    assert idx.tolist() == [[0, 2], [1, 3]]
    assert figures.responsible_component(p).tolist() == [0, 1, 0, 1]


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(2)
    imgs = rng.uniform(-1, 1, size=(7, 8, 8, 1)).astype(np.float32)
    probs = rng.dirichlet(np.ones(4), size=7)
    nodes = np.concatenate([np.ones((7, 1)), rng.random((7, 6))], 1)
    paths = [
        figures.save_image_grid(imgs, str(tmp_path / "grid.png")),
        figures.plot_gating_correlation(probs, str(tmp_path / "corr.png")),
        figures.plot_node_averages(figures.node_average_images(nodes, imgs),
                                   str(tmp_path / "tree.png")),
        figures.plot_top_samples(imgs, probs, str(tmp_path / "top.png"), k=1),
        figures.plot_toy_regions(rng.normal(size=(50, 2)),
                                 rng.integers(0, 5, 50),
                                 str(tmp_path / "toy.png"),
                                 x_real=rng.normal(size=(50, 2))),
        figures.plot_toy_study(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)),
                               rng.integers(0, 4, 40), rng.normal(size=(30, 2)),
                               rng.integers(0, 4, 30), str(tmp_path / "s.png"),
                               num_generators=4),
        figures.plot_toy_tree(rng.normal(size=(40, 2)), rng.random((40, 7)),
                              str(tmp_path / "t.png")),
    ]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.tmp.png"))
