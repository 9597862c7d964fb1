"""The training engine: ``training.train``, the callbacks, the learning-rate
schedules and optimisers, and the run folder on disk."""
