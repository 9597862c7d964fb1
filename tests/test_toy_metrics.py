import numpy as np
import pytest

from general_tools.toy_metrics import mode_statistics


def test_hand_case():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    stds = np.array([[1.0, 1.0], [1.0, 2.0], [0.5, 0.5]])
    points = np.array([
        [0.5, 0.5],    # mode 0, distance 0.71
        [2.9, 0.0],    # mode 0, distance 2.9
        [3.1, 0.0],    # distance 3.1 from mode 0: low quality
        [10.0, 5.9],   # mode 1: (0, 5.9 / 2) -> 2.95
        [0.0, 11.6],   # mode 2: 1.6 / 0.5 = 3.2: low quality
        [50.0, 50.0],  # nowhere
    ])
    out = mode_statistics(points, means, stds, min_share=0.5)
    assert out["counts"] == [2, 1, 0]
    assert out["high_quality"] == pytest.approx(3 / 6)
    # fair share 2 points per mode, half of it = 1: modes 0 and 1 covered
    assert out["modes_covered"] == 2


def test_samples_from_the_mixture_cover_everything():
    rng = np.random.default_rng(0)
    means = rng.uniform(-12, 12, (5, 2))
    stds = rng.uniform(0.5, 2.5, (5, 2))
    pts = (means[:, None] + stds[:, None] * rng.normal(size=(5, 400, 2)))
    out = mode_statistics(pts.reshape(-1, 2), means, stds)
    assert out["modes_covered"] == 5
    # P(chi_2 <= 3) = 1 - exp(-4.5) = 0.9889
    assert out["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.01)
    with pytest.raises(ValueError, match="must agree"):
        mode_statistics(pts.reshape(-1, 2), means, stds[:3])
