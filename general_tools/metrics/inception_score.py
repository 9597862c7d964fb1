"""Inception Score (IS) from classifier logits or probabilities.

Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016
(arXiv:1606.03498):

    IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x),

computed on `splits` consecutive, nearly equal parts of the samples (part i
is rows `[i n // splits, (i + 1) n // splits)`, as OpenAI's code), reporting
the mean and `np.std` (ddof 0) over parts. `splits=1` gives the single value
of the MMD-GAN and StudioGAN code.

The 2015-12-05 Inception graph has 1008 logits (1000 ImageNet classes plus
8 unused); OpenAI and TF-GAN take the softmax over all 1008, and so does
this function when given those logits. Slice them first for another
convention.
"""

import numpy as np
import scipy.special

from general_tools.metrics._common import check_positive_int


def inception_score(logits, splits=10, from_logits=True):
    """Inception Score.

    Args:
        logits: array-like `(num_samples, num_classes)`. classifier logits
            (or class probabilities when `from_logits=False`).
        splits: int. number of parts, 1 <= splits <= num_samples. Defaults
            to 10 (Salimans et al.).
        from_logits: bool. whether `logits` are logits (softmax applied here
            in float64) or probabilities (rows summing to 1). Defaults to
            True.

    Returns:
        Tuple `(mean, std)` of floats over the splits; 1 for a classifier
        that is equally unsure of every sample, and up to `num_classes` for
        confident predictions spread evenly over the classes.
    """
    values = np.asarray(logits, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise ValueError(
            "`logits` must be a non-empty 2-D array (num_samples, "
            f"num_classes); received shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("`logits` contains NaN or infinite values.")
    splits = check_positive_int(splits, "splits")
    num = values.shape[0]
    if splits > num:
        raise ValueError(
            f"`splits` ({splits}) must not exceed the number of samples "
            f"({num}).")
    if from_logits:
        probs = scipy.special.softmax(values, axis=1)
    else:
        if np.any(values < 0) or not np.allclose(values.sum(1), 1.0,
                                                 atol=1e-4):
            raise ValueError(
                "With `from_logits=False`, `logits` must hold probabilities: "
                "non-negative rows summing to 1.")
        probs = values
    scores = []
    for i in range(splits):
        part = probs[i * num // splits:(i + 1) * num // splits]
        marginal = part.mean(axis=0)
        # rel_entr(p, q) = p log(p / q), with 0 log 0 = 0.
        kl = scipy.special.rel_entr(part, marginal[None, :]).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    scores = np.asarray(scores)
    return float(scores.mean()), float(scores.std())
