"""Networks as data: the layer-dict grammar, the builder, its layers and the
ready-made specs (``grammar``, ``builder``, ``layers``, ``architectures``)."""
