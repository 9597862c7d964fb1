"""Mode coverage and sample quality on 2-D Gaussian-mixture toys.

The usual toy scores (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
2018), with the mixture's own per-axis spreads:

* a sample is *high quality* when it lies within ``threshold`` standard
  deviations of some centre, measured as the diagonal Mahalanobis distance
  ``||(x - mu_m) / sigma_m||_2 <= threshold`` (3 by default);
* each high-quality sample is assigned to its nearest centre in that
  distance; a mode is *covered* when it receives at least ``min_share`` of
  its expected count, ``min_share * n / M`` samples (0.1 by default, so a
  mode with a tenth of its fair share counts).
"""

import numpy as np


def mode_statistics(points, means, stds, threshold=3.0, min_share=0.1):
    """Scores generated 2-D points against a diagonal Gaussian mixture.

    Args:
        points: array (N, D). Generated samples.
        means: array (M, D). Component centres.
        stds: array (M, D) or (M,). Per-axis (or isotropic) std.
        threshold: float. Quality radius in standard deviations.
            Defaults to 3.0.
        min_share: float. Fraction of a mode's fair share (N / M) that
            covers it. Defaults to 0.1.

    Returns:
        dict with ``modes_covered`` (int), ``high_quality`` (fraction of
        points), ``counts`` (high-quality points per mode, list of int).
    """
    x = np.asarray(points, np.float64)
    mu = np.asarray(means, np.float64)
    sd = np.asarray(stds, np.float64)
    if sd.ndim == 1:
        sd = np.repeat(sd[:, None], mu.shape[1], axis=1)
    if x.ndim != 2 or mu.shape != sd.shape or x.shape[1] != mu.shape[1]:
        raise ValueError(f"points (N, D), means and stds (M, D) must agree. "
                         f"Received {x.shape}, {mu.shape}, {sd.shape}")
    dist = np.sqrt((((x[:, None, :] - mu[None]) / sd[None]) ** 2).sum(-1))
    nearest = dist.argmin(1)
    good = dist[np.arange(len(x)), nearest] <= threshold
    counts = np.bincount(nearest[good], minlength=len(mu))
    need = min_share * len(x) / len(mu)
    return {"modes_covered": int((counts >= need).sum()),
            "high_quality": float(good.mean()),
            "counts": counts.tolist()}
