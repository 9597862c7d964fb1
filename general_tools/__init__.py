"""General tools of mixgan: spectral normalisation, GAN and MMD losses,
penalties, metrics, data input and figures.

Nothing here depends on ``deep_learning``; the model code imports from here.
"""
