"""GAN and MMD-GAN losses behind one entry point, `gan_loss`.

Every loss is a pure function `fn(s_real, s_fake, *, **params)` registered
under a name with `@register_loss(name, g_reads_real=..., metrics=...)`,
which declares the keys of its metrics and whether its generator loss reads
the real scores (`loss_info(name)`). It takes the discriminator's
scores on a real and a generated batch and returns
`(loss_d, loss_g, metrics)`:

- `loss_d`: float32 scalar minimised by the discriminator.
- `loss_g`: float32 scalar minimised by the generator.
- `metrics`: dict of float32 scalar diagnostics. Always `d_real` and
  `d_fake` (mean scores); the MMD losses add `kxx`, `kyy`, `kxy` and `mmd2`.

Scores have shape `(B,)` or `(B, d)` and are cast to float32 first. The
classic losses average over every element; the MMD losses treat each row as
a point in `R^d` (a `(B,)` score is a point in `R^1`).

Naming of the kernel means follows the repulsive-loss reference code
(richardwth/MMD-GAN, `GeneralTools/math_func.py`): **x is the generated
batch and y the real batch**, so `kxx = E k(g, g')`, `kyy = E k(r, r')`,
`kxy = E k(g, r')`. All means exclude the pairs `i == j`, including the cross
term (see `general_tools.mmd`); real and generated batches must have the same
size. The reference README advises keeping these means away from 0 and 1
(about 0.6 is healthy).

Penalties (gradient penalty, R1) are not part of the losses; the training
engine adds them (`general_tools.penalties`).

Example:

```python
loss_d, loss_g, metrics = gan_loss("rmb", s_real, s_fake)
loss_d, loss_g, metrics = gan_loss("rep", s_real, s_fake,
                                   rep_weights=(-1.0, -2.0))
```
"""

import dataclasses
import functools
import inspect
from typing import Callable

import tensorflow as tf

from general_tools import mmd as mmd_lib

_LOSSES = {}

DEFAULT_SIGMAS = (1.0, 2.0 ** 0.5, 2.0, 8.0 ** 0.5, 4.0)
DEFAULT_ALPHAS = (0.2, 0.5, 1.0, 2.0, 5.0)
_MMD_METRICS = ("d_real", "d_fake", "kxx", "kyy", "kxy", "mmd2")


@dataclasses.dataclass(frozen=True)
class LossInfo:
    """What a registered loss declares about itself.

    Attributes:
        name: str. Its registered name.
        fn: the loss function.
        metrics: tuple of str. The keys of the metrics dict it returns, in
            order (the engine creates one tracker per key before training).
        g_reads_real: bool. Whether its generator loss depends on the real
            scores; when False the engine's generator step skips scoring
            the real batch.
    """

    name: str
    fn: Callable
    metrics: tuple
    g_reads_real: bool


def register_loss(name, *, g_reads_real, metrics=("d_real", "d_fake")):
    """Decorator that registers a loss function under `name`.

    The function must have the signature `fn(s_real, s_fake, *, ...)` with
    its hyper-parameters as keyword arguments with defaults, and return
    `(loss_d, loss_g, metrics)` whose metrics dict has exactly the keys
    declared here (`gan_loss` checks).

    Args:
        name: str. name used by `gan_loss`.
        g_reads_real: bool. whether `loss_g` depends on `s_real`.
        metrics: sequence of str. keys of the returned metrics. Defaults to
            `("d_real", "d_fake")`.

    Returns:
        the decorator, which returns the function unchanged.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`name` must be a non-empty string. Received: name={name!r}")
    if not isinstance(g_reads_real, bool):
        raise ValueError(
            f"`g_reads_real` must be True or False. Received: "
            f"g_reads_real={g_reads_real!r}")
    metrics = tuple(metrics)
    if not all(isinstance(m, str) and m for m in metrics) or len(
            set(metrics)) != len(metrics):
        raise ValueError(
            f"`metrics` must be distinct non-empty strings. Received: "
            f"metrics={metrics!r}")

    def decorator(fn):
        existing = _LOSSES.get(name)
        if existing is not None and (
                existing.fn.__module__, existing.fn.__qualname__) != (
                fn.__module__, fn.__qualname__):
            raise ValueError(
                f"A loss named '{name}' is already registered "
                f"({existing.fn.__module__}.{existing.fn.__qualname__}).")
        _LOSSES[name] = LossInfo(name, fn, metrics, g_reads_real)
        return fn

    return decorator


def available_losses():
    """Sorted list of the registered loss names."""
    return sorted(_LOSSES)


def loss_info(name):
    """The :class:`LossInfo` of a registered loss (its metric keys and
    whether its generator loss reads the real scores)."""
    return _get_loss(name)


def loss_parameters(name):
    """Names and default values of a loss's hyper-parameters.

    Args:
        name: str. a registered loss name.

    Returns:
        dict mapping parameter name to its default value.
    """
    fn = _get_loss(name).fn
    params = list(inspect.signature(fn).parameters.values())[2:]
    return {p.name: p.default for p in params}


def _get_loss(name):
    if name not in _LOSSES:
        raise ValueError(
            f"Unknown loss name. Received: name={name!r}. "
            f"Valid names: {available_losses()}")
    return _LOSSES[name]


def gan_loss(name, s_real, s_fake, **params):
    """Computes the discriminator and generator losses of a named GAN loss.

    Args:
        name: str. one of `available_losses()`.
        s_real: tensor `(B,)` or `(B, d)`. discriminator scores of real data.
        s_fake: tensor of the same shape. scores of generated data.
        **params: the loss's hyper-parameters (see `loss_parameters(name)`).

    Returns:
        tuple `(loss_d, loss_g, metrics)` of two float32 scalars and a dict
        of float32 scalars.
    """
    info = _get_loss(name)
    fn = info.fn
    allowed = list(loss_parameters(name))
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {unknown} for loss '{name}'. "
            f"Valid parameters: {allowed}")
    try:
        inspect.signature(fn).bind(s_real, s_fake, **params)
    except TypeError as err:
        raise ValueError(
            f"Bad parameters for loss '{name}': {err}. "
            f"Received: {sorted(params)}") from None
    loss_d, loss_g, metrics = fn(s_real, s_fake, **params)
    if set(metrics) != set(info.metrics):
        raise ValueError(
            f"Loss '{name}' returned the metrics {list(metrics)} but declared "
            f"{list(info.metrics)} when it registered.")
    return loss_d, loss_g, metrics


# ---------------------------------------------------------------------------
# Helpers.


def _scores(s_real, s_fake):
    s_real = tf.cast(tf.convert_to_tensor(s_real), tf.float32)
    s_fake = tf.cast(tf.convert_to_tensor(s_fake), tf.float32)
    return s_real, s_fake


def _mean_metrics(s_real, s_fake):
    return {"d_real": tf.reduce_mean(s_real),
            "d_fake": tf.reduce_mean(s_fake)}


def _mmd_metrics(s_real, s_fake, kxx, kyy, kxy):
    metrics = _mean_metrics(s_real, s_fake)
    metrics.update(kxx=kxx, kyy=kyy, kxy=kxy, mmd2=kxx + kyy - 2.0 * kxy)
    return metrics


def _check_rep_weights(rep_weights):
    try:
        w0, w1 = (float(w) for w in rep_weights)
    except (TypeError, ValueError):
        raise ValueError(
            "`rep_weights` must be a pair of numbers (w0, w1). "
            f"Received: rep_weights={rep_weights!r}") from None
    if abs((w0 - w1) - 1.0) > 1e-6:
        raise ValueError(
            "`rep_weights` must satisfy w0 - w1 == 1. "
            f"Received: rep_weights={rep_weights!r}")
    return w0, w1


# ---------------------------------------------------------------------------
# Classic losses: mean over all score elements.


@register_loss("logistic", g_reads_real=False)
def logistic(s_real, s_fake):
    """Non-saturating logistic loss (Goodfellow et al. 2014, Sec. 3).

    `L_D = E softplus(-s_r) + E softplus(s_f)` (binary cross-entropy with
    logits) and `L_G = E softplus(-s_f)`, i.e. `-log D(G(z))`.
    """
    s_real, s_fake = _scores(s_real, s_fake)
    loss_d = (tf.reduce_mean(tf.nn.softplus(-s_real))
              + tf.reduce_mean(tf.nn.softplus(s_fake)))
    loss_g = tf.reduce_mean(tf.nn.softplus(-s_fake))
    return loss_d, loss_g, _mean_metrics(s_real, s_fake)


@register_loss("minimax", g_reads_real=False)
def minimax(s_real, s_fake):
    """Original saturating minimax loss (Goodfellow et al. 2014, eq. 1).

    `L_D` is the logistic one; `L_G = E log(1 - D(G(z))) = -E softplus(s_f)`.
    """
    s_real, s_fake = _scores(s_real, s_fake)
    loss_d = (tf.reduce_mean(tf.nn.softplus(-s_real))
              + tf.reduce_mean(tf.nn.softplus(s_fake)))
    loss_g = -tf.reduce_mean(tf.nn.softplus(s_fake))
    return loss_d, loss_g, _mean_metrics(s_real, s_fake)


@register_loss("hinge", g_reads_real=False)
def hinge(s_real, s_fake):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018).

    `L_D = E relu(1 - s_r) + E relu(1 + s_f)`, `L_G = -E s_f`.
    """
    s_real, s_fake = _scores(s_real, s_fake)
    loss_d = (tf.reduce_mean(tf.nn.relu(1.0 - s_real))
              + tf.reduce_mean(tf.nn.relu(1.0 + s_fake)))
    loss_g = -tf.reduce_mean(s_fake)
    return loss_d, loss_g, _mean_metrics(s_real, s_fake)


@register_loss("wasserstein", g_reads_real=False)
def wasserstein(s_real, s_fake):
    """Wasserstein critic loss (Arjovsky et al. 2017).

    `L_D = E s_f - E s_r`, `L_G = -E s_f`. The Lipschitz constraint (the
    WGAN-GP gradient penalty of Gulrajani et al. 2017) is added by the
    training engine, see `general_tools.penalties.gradient_penalty`.
    """
    s_real, s_fake = _scores(s_real, s_fake)
    loss_d = tf.reduce_mean(s_fake) - tf.reduce_mean(s_real)
    loss_g = -tf.reduce_mean(s_fake)
    return loss_d, loss_g, _mean_metrics(s_real, s_fake)


@register_loss("lsgan", g_reads_real=False)
def lsgan(s_real, s_fake, *, fake_target=0.0, real_target=1.0,
          gen_target=1.0):
    """Least-squares GAN (Mao et al. 2017, eq. 2) with the 1/2 factors.

    `L_D = 1/2 E (s_r - b)^2 + 1/2 E (s_f - a)^2`,
    `L_G = 1/2 E (s_f - c)^2`.

    Args:
        fake_target: float. `a`, the target score of generated data for D.
            Defaults to 0.0.
        real_target: float. `b`, the target score of real data. Defaults to
            1.0.
        gen_target: float. `c`, the score G wants D to give its samples.
            Defaults to 1.0.
    """
    s_real, s_fake = _scores(s_real, s_fake)
    loss_d = 0.5 * (tf.reduce_mean(tf.square(s_real - real_target))
                    + tf.reduce_mean(tf.square(s_fake - fake_target)))
    loss_g = 0.5 * tf.reduce_mean(tf.square(s_fake - gen_target))
    return loss_d, loss_g, _mean_metrics(s_real, s_fake)


# ---------------------------------------------------------------------------
# MMD losses: scores are points in R^d; x = generated, y = real.


@register_loss("mmd", g_reads_real=True, metrics=_MMD_METRICS)
def mmd(s_real, s_fake, *, sigmas=DEFAULT_SIGMAS):
    """Attractive MMD-GAN loss with a mixture of Gaussian kernels.

    `L_D = -sum_s MMD^2_s(g, r)` and `L_G = +sum_s MMD^2_s(g, r)`, with
    `k_s = exp(-d / (2 s^2))` (Li et al. 2017; reference loss type
    `'mmd_g'`). The metrics `kxx`, `kyy`, `kxy` are the means of the summed
    kernel, so they range over `[0, len(sigmas)]`.

    Args:
        sigmas: float or sequence of floats. Gaussian bandwidths. Defaults
            to `(1, sqrt 2, 2, sqrt 8, 4)`.
    """
    kernel_fn = functools.partial(mmd_lib.gaussian_kernel, sigma=sigmas)
    return _attractive_mmd(s_real, s_fake, kernel_fn)


@register_loss("mmd_t", g_reads_real=True, metrics=_MMD_METRICS)
def mmd_t(s_real, s_fake, *, alphas=DEFAULT_ALPHAS):
    """Attractive MMD-GAN loss with a mixture of rational-quadratic kernels.

    `L_D = -sum_a MMD^2_a(g, r)` and `L_G = +sum_a MMD^2_a(g, r)` with
    `k_a = (1 + d / (2 a))^(-a)` (Binkowski et al. 2018; reference loss type
    `'mmd_t'`). Metrics are means of the summed kernel.

    Args:
        alphas: float or sequence of floats. kernel shape parameters.
            Defaults to `(0.2, 0.5, 1, 2, 5)`.
    """
    kernel_fn = functools.partial(mmd_lib.rational_quadratic_kernel,
                                  alpha=alphas)
    return _attractive_mmd(s_real, s_fake, kernel_fn)


def _attractive_mmd(s_real, s_fake, kernel_fn):
    s_real, s_fake = _scores(s_real, s_fake)
    kxx, kyy, kxy = mmd_lib.kernel_means(s_fake, s_real, kernel_fn)
    mmd2 = kxx + kyy - 2.0 * kxy
    return -mmd2, mmd2, _mmd_metrics(s_real, s_fake, kxx, kyy, kxy)


@register_loss("rep", g_reads_real=True, metrics=_MMD_METRICS)
def rep(s_real, s_fake, *, rep_weights=(0.0, -1.0), sigma=1.0):
    """Repulsive MMD-GAN loss (Wang et al. 2019, eq. 4; loss type `'rep'`).

    `L_D = w0 E k(g, r) - E k(g, g') - w1 E k(r, r')` with `w0 - w1 = 1`,
    and `L_G = MMD^2(g, r)`, Gaussian kernel with one bandwidth.

    With `lambda = -w1`, `L_D = lambda E k(r, r') - (lambda - 1) E k(g, r)
    - E k(g, g')`: `(0, -1)` (the default) is the repulsive loss
    `E k(r, r') - E k(g, g')`; `(2, 1)` gives back the attractive
    `-MMD^2`; `(-1, -2)` is `lambda = 2`.

    Args:
        rep_weights: pair of floats `(w0, w1)` with `w0 - w1 == 1`.
            Defaults to `(0.0, -1.0)`.
        sigma: float. Gaussian bandwidth. Defaults to 1.0.
    """
    w0, w1 = _check_rep_weights(rep_weights)
    s_real, s_fake = _scores(s_real, s_fake)
    kernel_fn = functools.partial(mmd_lib.gaussian_kernel, sigma=sigma)
    kxx, kyy, kxy = mmd_lib.kernel_means(s_fake, s_real, kernel_fn)
    loss_d = w0 * kxy - kxx - w1 * kyy
    loss_g = kxx + kyy - 2.0 * kxy
    return loss_d, loss_g, _mmd_metrics(s_real, s_fake, kxx, kyy, kxy)


@register_loss("rmb", g_reads_real=True,
               metrics=_MMD_METRICS + ("kxx_b", "kyy_b"))
def rmb(s_real, s_fake, *, rep_weights=(0.0, -1.0), sigma=1.0,
        lower_bound=0.25, upper_bound=4.0):
    """Repulsive MMD-GAN loss with a bounded Gaussian kernel (Wang et al.
    2019, eq. 6; reference loss type `'rmb'`).

    `L_D = w0 E k(g, r) - E k_b(g, g') - w1 E k_b(r, r')` and
    `L_G = MMD^2(g, r)` with the unbounded kernel, where

    - `k_b(g, g') = exp(-max(d, b_l) / (2 sigma^2))`: D stops contracting
      generated scores closer than `b_l`;
    - `k_b(r, r') = exp(-min(d, b_u) / (2 sigma^2))` when `w1 <= 0` (the
      repulsive case, including the default): D stops spreading real scores
      beyond `b_u`. When `w1 > 0` the real term is attractive and, as in the
      reference code, the lower bound is used instead:
      `exp(-max(d, b_l) / (2 sigma^2))`.
    - the cross term `E k(g, r)` uses the **unbounded** kernel. The reference
      code (`mmd_g_bounded`) builds an upper-bounded cross kernel when
      `w0 > 0` but uses it only when `w0 < 0`, where it is the unbounded one;
      in effect its cross term is always unbounded. We keep that behaviour on
      purpose (it is exactly the reference at the default `w0 = 0`, where the
      term vanishes anyway).

    Metrics add `kxx_b` and `kyy_b`, the bounded means.

    Args:
        rep_weights: pair of floats `(w0, w1)` with `w0 - w1 == 1`.
            Defaults to `(0.0, -1.0)`.
        sigma: float. Gaussian bandwidth. Defaults to 1.0.
        lower_bound: float. `b_l`, lower bound on squared distances.
            Defaults to 0.25.
        upper_bound: float. `b_u`, upper bound on squared distances.
            Defaults to 4.0.
    """
    w0, w1 = _check_rep_weights(rep_weights)
    if not 0.0 <= lower_bound <= upper_bound:
        raise ValueError(
            "`lower_bound` and `upper_bound` must satisfy "
            "0 <= lower_bound <= upper_bound. Received: "
            f"lower_bound={lower_bound}, upper_bound={upper_bound}")
    s_real, s_fake = _scores(s_real, s_fake)
    d_gg, d_rr, d_gr = mmd_lib.pairwise_squared_distances(s_fake, s_real)
    kernel_fn = functools.partial(mmd_lib.gaussian_kernel, sigma=sigma)
    kxx, kyy, kxy = mmd_lib.kernel_means_from_distances(
        d_gg, d_rr, d_gr, kernel_fn)
    kxx_b = mmd_lib.offdiagonal_mean(mmd_lib.bounded_gaussian_kernel(
        d_gg, sigma=sigma, lower=lower_bound))
    if w1 > 0.0:
        k_rr_b = mmd_lib.bounded_gaussian_kernel(
            d_rr, sigma=sigma, lower=lower_bound)
    else:
        k_rr_b = mmd_lib.bounded_gaussian_kernel(
            d_rr, sigma=sigma, upper=upper_bound)
    kyy_b = mmd_lib.offdiagonal_mean(k_rr_b)
    loss_d = w0 * kxy - kxx_b - w1 * kyy_b
    loss_g = kxx + kyy - 2.0 * kxy
    metrics = _mmd_metrics(s_real, s_fake, kxx, kyy, kxy)
    metrics.update(kxx_b=kxx_b, kyy_b=kyy_b)
    return loss_d, loss_g, metrics
