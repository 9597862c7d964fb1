"""Post-run tools, each a library and a command (``python -m
deep_learning.tools.<name>``, or ``python -m deep_learning.<name>``):
``sample``, ``evaluate``, ``interpretability``; evaluation during training
(``metric_callback``) and GM-GAN clustering (``clustering``)."""
