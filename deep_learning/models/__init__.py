"""The GAN models: the base ``gan.GAN`` (its train step in ``gan_steps``,
sampling in ``gan_sampling``, weight EMA in ``ema``, stateless random draws in
``stateless_random``), ``began`` (with ``began_networks``), ``gmgan``,
``mmd_gan``, and the mixture-of-generator GANs (``mixture_gans``) with their
mixing layers (``mixture_layers``)."""
