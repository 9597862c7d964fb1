"""What the engine hands to a model's loss and penalty hooks: one record of
the update being computed, and the declaration of an extra update.

:class:`StepRecord` carries everything a loss or a penalty may read: the
real batch and its labels, the latent codes with the extras of their draw
(e.g. which Gaussian each GM-GAN code came from, which head drew each
multi-head fake), the generated batch, both score tensors, the generator
step and a stateless seed of its own. Hooks read what they need and ignore
the rest, so a model that needs labels or latent extras never has to smuggle
them past the engine.

:class:`ExtraUpdate` declares one more optimiser update of every generator
step (MEGAN's load balancing of its gate), run by the engine after the
generator update with the same replica and loss scaling as the others.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

__all__ = ["StepRecord", "ExtraUpdate"]


@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One discriminator, generator or evaluation update's tensors.

    Attributes:
        real: float32 ``(B, ...)``. The real batch of this update.
        labels: int32 ``(B,)`` or None. Labels of the real batch, when the
            dataset yields ``(images, labels)``.
        z: float32 ``(n, latent_dim)``. The latent codes drawn.
        latent: dict. Extras of the draw (``GAN.draw_latent``): ``{}`` for
            plain models, ``{"components": (n,)}`` for GM-GAN,
            ``{"generator": (K * n,)}`` for multi-head models.
        fake: float32 ``(B', ...)``. The generated batch.
        s_real: float32 scores of ``real``, or None when the update does not
            score the real batch (a generator step whose loss ignores it).
        s_fake: float32 scores of ``fake``.
        step: int64 scalar. The generator step being computed (0-based).
        seed: int64 ``(2,)``. A stateless seed for the hook's own draws
            (the gradient penalty's interpolation coefficients).
        training: bool. False for evaluation (``test_step``).
    """

    real: Any
    labels: Any
    z: Any
    latent: dict
    fake: Any
    s_real: Any
    s_fake: Any
    step: Any
    seed: Any
    training: bool = True

    def replace(self, **changes):
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class ExtraUpdate:
    """One more optimiser update per generator step.

    Attributes:
        name: str. Names the optimiser (``optimizers_by_name()`` key, its
            checkpoint group) and the logged ``grad_norm/<name>``.
        optimizer: the ``keras.optimizers.Optimizer`` that applies it.
        variables: list of variables it updates.
        loss_fn: callable ``step -> (loss, logs)``, run under the engine's
            gradient tape; ``logs`` keys need trackers (declare them in
            ``GAN.extra_metrics``).
    """

    name: str
    optimizer: Any
    variables: list
    loss_fn: Callable
