"""Fréchet distance between Gaussian fits of two feature sets (FID).

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", NeurIPS 2017 (arXiv:1706.08500):

    FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))

with `mu` the feature means and `S` the unbiased (divide by n - 1)
covariances, as `np.cov` in the TTUR, pytorch-fid and HMoG code. Everything
is computed in float64.
"""

import warnings

import numpy as np
import scipy.linalg

from general_tools.metrics._common import as_feature_matrix
from general_tools.metrics._common import check_positive_int
from general_tools.metrics._common import check_same_width

SQRTM_METHODS = ("eigh", "scipy")


def feature_statistics(features, block_size=8192):
    """Mean and unbiased covariance of a feature set, in float64.

    The covariance is accumulated over row blocks, so a 50,000 x 2,048
    float32 set never needs a full float64 copy.

    Args:
        features: array-like of shape `(num_samples, num_features)`, with at
            least two samples.
        block_size: int. rows converted to float64 at a time. Defaults to
            8192.

    Returns:
        Tuple `(mu, sigma)`: float64 arrays of shapes `(num_features,)` and
        `(num_features, num_features)`; `sigma` equals
        `np.cov(features, rowvar=False)`.
    """
    features = as_feature_matrix(features, "features", keep_float64=True)
    block_size = check_positive_int(block_size, "block_size")
    num = features.shape[0]
    if num < 2:
        raise ValueError(
            "`features` needs at least 2 samples for an unbiased covariance; "
            f"received {num}.")
    total = np.zeros(features.shape[1], dtype=np.float64)
    for start in range(0, num, block_size):
        block = features[start:start + block_size]
        total += block.sum(axis=0, dtype=np.float64)
    mu = total / num
    sigma = np.zeros((features.shape[1], features.shape[1]), dtype=np.float64)
    for start in range(0, num, block_size):
        centred = features[start:start + block_size].astype(np.float64) - mu
        sigma += centred.T @ centred
    sigma /= num - 1
    return mu, sigma


def _check_statistics(mu, sigma, name):
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ValueError(
            f"`mu{name}` must have shape (d,) and `sigma{name}` shape (d, d); "
            f"received {mu.shape} and {sigma.shape}.")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"`mu{name}` or `sigma{name}` contains NaN or inf.")
    return mu, sigma


def _symmetric_sqrt(matrix):
    """Square root of a symmetric PSD matrix; negative rounding eigenvalues
    are clipped to zero."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    root = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (eigenvectors * root) @ eigenvectors.T


def trace_sqrt_product(sigma1, sigma2, method="eigh", eps=1e-6):
    """Tr((sigma1 sigma2)^(1/2)) for two covariance matrices.

    Args:
        sigma1: float64 array `(d, d)`, symmetric positive semi-definite.
        sigma2: float64 array `(d, d)`, symmetric positive semi-definite.
        method: str. `"eigh"`: with any factor sigma1 = A A^T,
            sigma1 sigma2 = A (A^T sigma2 A) A^-1 has the eigenvalues of the
            symmetric PSD matrix A^T sigma2 A, so the trace is the sum of
            the square roots of its (clipped) eigenvalues. A is the Cholesky
            factor, or the symmetric eigen square root when sigma1 is
            singular (fewer samples than features). This is TF-GAN's form
            (which uses the square root): no inverse anywhere, exact for
            singular covariances too, and several times faster than
            `"scipy"` for d = 2048. `"scipy"`:
            `scipy.linalg.sqrtm(sigma1 @ sigma2)`, retried on
            `(sigma1 + eps I)(sigma2 + eps I)` if the result is not finite,
            keeping the real part; this is the TTUR / pytorch-fid
            computation, for parity with their numbers. Defaults to
            `"eigh"`.
        eps: float. diagonal offset of the `"scipy"` retry. Defaults to 1e-6.

    Returns:
        float.
    """
    if method == "eigh":
        try:
            factor = np.linalg.cholesky(sigma1)
        except np.linalg.LinAlgError:  # singular: use the symmetric root
            factor = _symmetric_sqrt(sigma1)
        middle = factor.T @ sigma2 @ factor
        middle = 0.5 * (middle + middle.T)
        eigenvalues = np.linalg.eigvalsh(middle)
        return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    if method == "scipy":
        root = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.all(np.isfinite(root)):
            offset = eps * np.eye(sigma1.shape[0])
            root = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if np.iscomplexobj(root):
            largest = np.max(np.abs(root.imag))
            if largest > 1e-3:
                warnings.warn(
                    "scipy.linalg.sqrtm returned an imaginary part of "
                    f"magnitude {largest:.3g}; keeping the real part.",
                    RuntimeWarning, stacklevel=3)
            root = root.real
        return float(np.trace(root))
    raise ValueError(
        f"`method` must be one of {SQRTM_METHODS}; received {method!r}.")


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, method="eigh",
                                eps=1e-6):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2)
          - 2 Tr((sigma1 sigma2)^(1/2)),
    computed in float64 (Dowson & Landau, 1982).

    Args:
        mu1: array `(d,)`. first mean.
        sigma1: array `(d, d)`. first covariance.
        mu2: array `(d,)`. second mean.
        sigma2: array `(d, d)`. second covariance.
        method: str. matrix square-root method, `"eigh"` or `"scipy"`; see
            `trace_sqrt_product`. Defaults to `"eigh"`.
        eps: float. diagonal offset for the `"scipy"` retry. Defaults to
            1e-6.

    Returns:
        float. the squared Fréchet distance (what papers report as FID).
    """
    mu1, sigma1 = _check_statistics(mu1, sigma1, "1")
    mu2, sigma2 = _check_statistics(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            "The two Gaussians must have the same dimension; received "
            f"`mu1` {mu1.shape} and `mu2` {mu2.shape}.")
    diff = mu1 - mu2
    trace_root = trace_sqrt_product(sigma1, sigma2, method=method, eps=eps)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2)
                 - 2.0 * trace_root)


def frechet_distance(real, fake, method="eigh", eps=1e-6):
    """Fréchet distance (FID when the features are Inception pool_3) between
    Gaussian fits of two feature sets.

    Args:
        real: array-like `(n_real, d)`. reference features, n_real >= 2.
        fake: array-like `(n_fake, d)`. generated features, n_fake >= 2.
        method: str. `"eigh"` (TF-GAN form, default) or `"scipy"` (TTUR
            form); see `trace_sqrt_product`. The two agree to ~1e-6 relative
            on well-conditioned covariances.
        eps: float. diagonal offset of the `"scipy"` retry. Defaults to 1e-6.

    Returns:
        float. The value is symmetric in its arguments, and is biased upwards
        for small sets (compare only equal sample counts, e.g. 10k vs 10k).
    """
    real = as_feature_matrix(real, "real", keep_float64=True)
    fake = as_feature_matrix(fake, "fake", keep_float64=True)
    check_same_width(real, fake)
    mu_r, sigma_r = feature_statistics(real)
    mu_f, sigma_f = feature_statistics(fake)
    return frechet_distance_from_stats(mu_r, sigma_r, mu_f, sigma_f,
                                       method=method, eps=eps)
