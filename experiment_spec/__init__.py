"""What an experiment can ask for, in plain Python: the mixture-model
recipes, the published settings the scripts start from, and the flag set
every ``my_tests`` script shares.

Nothing here imports TensorFlow (or anything outside the standard library),
so a script parses and checks its flags, against the same recipes the
models are built from, before TensorFlow loads: ``--steps 0`` or ``--k 3``
for a binary tree fails in a fraction of a second and writes nothing.
``deep_learning`` builds on these modules; they never import it.
"""
