"""Exponential moving average (EMA) of a network's weights.

Generators evaluated with averaged weights give better samples than the last
iterate (Yazici et al., 2019, "The Unusual Effectiveness of Averaging in GAN
Training", https://arxiv.org/abs/1806.04498; Karras et al., 2018, ProGAN).
The average is kept in shadow variables owned by :class:`WeightEMA`; the
network itself is never modified, and a forward pass with the averaged
weights uses ``keras.Model.stateless_call``.

Update rule, applied once per generator step ``t`` (counted from 1) after the
optimiser update::

    theta_ema <- theta                                 if t <= start
    theta_ema <- decay * theta_ema + (1 - decay) * theta   otherwise

so before ``start`` the average simply tracks the weights (no warm-up bias
towards the initialisation).
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mixgan")
class WeightEMA(keras.layers.Layer):
    """Shadow copy of a list of variables, updated as an EMA.

    The layer owns one non-trainable float32 variable per tracked variable,
    so the average is saved with the model that holds the layer (and with
    the engine's checkpoints). It has no ``call``: use :meth:`update` after
    each optimiser step and :meth:`values` to read the averages.

    Args:
        decay: float. EMA decay in ``[0, 1)``; 0.999 is typical for GANs.
            Defaults to 0.999.
        start: int. Generator step up to which the average is a plain copy
            of the weights. Defaults to 0.
        **kwargs: forwarded to ``keras.layers.Layer``.

    Example:

    >>> ema = WeightEMA(decay=0.9)
    >>> v = keras.Variable([1.0, 2.0])
    >>> ema.build_for([v])
    >>> v.assign([3.0, 4.0])
    >>> ema.update([v], step=1)  # t=1 > start=0: 0.9*[1,2] + 0.1*[3,4]
    >>> [float(x) for x in ema.values()[0]]
    [1.2000000476837158, 2.200000047683716]
    """

    def __init__(self, decay=0.999, start=0, **kwargs):
        super().__init__(**kwargs)
        decay = float(decay)
        if not 0.0 <= decay < 1.0:
            raise ValueError(
                f"`decay` must be in [0, 1). Received: decay={decay}")
        start = int(start)
        if start < 0:
            raise ValueError(
                f"`start` must be >= 0. Received: start={start}")
        self.decay = decay
        self.start = start
        self._shadow = []

    def build_for(self, variables):
        """Creates one shadow variable per entry of ``variables``.

        Args:
            variables: list of variables (e.g. ``generator.trainable_variables``).
                The shadows start as copies of their current values.
        """
        if self.built:
            raise ValueError(
                f"WeightEMA '{self.name}' is already built with "
                f"{len(self._shadow)} variables.")
        for i, var in enumerate(variables):
            shadow = self.add_weight(
                shape=tuple(var.shape), initializer="zeros",
                dtype="float32", trainable=False,
                aggregation="only_first_replica",
                name=f"ema_{i}_{var.name}")
            shadow.assign(tf.cast(var, "float32"))
            self._shadow.append(shadow)
        self.built = True

    def build(self, input_shape=None):  # noqa: D102 - built by build_for
        if not self.built:
            raise ValueError("WeightEMA is built by `build_for(variables)`.")

    def values(self):
        """The shadow variables, in the order given to :meth:`build_for`."""
        return list(self._shadow)

    def update(self, variables, step):
        """Moves the averages towards ``variables``.

        Args:
            variables: list of variables, same order and shapes as given to
                :meth:`build_for`.
            step: int or int tensor. The generator step just completed
                (1 after the first step).
        """
        if len(variables) != len(self._shadow):
            raise ValueError(
                f"`variables` has {len(variables)} entries; WeightEMA "
                f"'{self.name}' tracks {len(self._shadow)}.")
        copy = tf.cast(tf.less_equal(tf.cast(step, "int64"), self.start),
                       "float32")
        decay = (1.0 - copy) * self.decay
        for shadow, var in zip(self._shadow, variables):
            value = tf.cast(var, "float32")
            shadow.assign(decay * shadow + (1.0 - decay) * value)

    def copy_from(self, variables):
        """Sets every average to the current value of ``variables``."""
        for shadow, var in zip(self._shadow, variables):
            shadow.assign(tf.cast(var, "float32"))

    def get_config(self):
        config = super().get_config()
        config.update(decay=self.decay, start=self.start)
        return config
