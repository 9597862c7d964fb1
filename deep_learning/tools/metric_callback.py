"""A training callback that scores the generator every N generator steps.

`EvaluationCallback` runs `deep_learning.tools.evaluate.evaluate_model` (FID, KID,
IS, k-NN, PR, DC, MS-SSIM) whenever the model's generator step
(`model.step`, so resumed runs keep their schedule) crosses a multiple of
`every`, and once more at the end of training. The reference features are
computed once (or read from the `general_tools.reference_stats` cache) and
reused at every evaluation; the fakes come from the same seeds each time, so
the curves move with the generator rather than with the draw.

Each score is written to TensorBoard as `eval/<name>` at the generator step
(`tf.summary.scalar`, own file writer in `log_dir`, normally the run's
`logs/`), added to the batch's `logs` dict (callbacks after this one see
it), and appended to `history` (a list of dicts with `step` and the
scores). An evaluation of 2,000 fakes with the domain classifier takes a
few seconds on a CPU; with the Inception graph budget about a minute per
10,000 fakes on a GPU.

Example:

    stats = reference_stats("mnist_bundled", extractor, split="test",
                            image_size=32, channels=1)
    cb = EvaluationCallback(stats, extractor, metrics=("fid", "knn"),
                            every=1000, num=2000, log_dir=paths.logs)
    training.train(build, data, steps=20000, callbacks=[cb], ...)
"""

import keras
import numpy as np
import tensorflow as tf

from deep_learning.tools.evaluate import evaluate_model
from deep_learning.tools.evaluate import parse_metrics
from general_tools import reference_stats as ref_lib


class EvaluationCallback(keras.callbacks.Callback):
    """Computes scores every `every` generator steps and logs them.

    Args:
        reference: `reference_stats.ReferenceStats` or real images (array
            or iterable of batches; features computed at the first use).
        extractor: `general_tools.features.FeatureExtractor`.
        metrics: str or sequence of `evaluate.METRICS`. Defaults to
            ("fid",).
        every: int. period in generator steps. Defaults to 1000.
        num: int. generated images per evaluation. Defaults to 2000.
        seed: int. seed of the latent draws (the same every time).
            Defaults to 0.
        log_dir: str or None. TensorBoard folder; None logs only to `logs`
            and `history`. Defaults to None.
        prefix: str. tag prefix. Defaults to "eval/".
        at_train_end: bool. also evaluate at the end of training unless the
            last step was just evaluated. Defaults to True.
        **evaluate_options: more `evaluate_model` arguments (`k`,
            `truncation`, `use_ema`, `kid_subsets`, `kid_subset_size`,
            `is_splits`, `msssim_pairs`, `batch_size`, ...).

    Attributes:
        history: list of dicts `{"step": int, <score>: float, ...}`.
        last_result: the full `evaluate_model` result of the last
            evaluation (scores and metadata), or None.
    """

    def __init__(self, reference, extractor, metrics=("fid",), every=1000,
                 num=2000, seed=0, log_dir=None, prefix="eval/",
                 at_train_end=True, **evaluate_options):
        super().__init__()
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(
                f"`every` must be an integer >= 1; received {every!r}.")
        if isinstance(num, bool) or int(num) != num or num < 2:
            raise ValueError(f"`num` must be an integer >= 2; received "
                             f"{num!r}.")
        self.reference = reference
        self.extractor = extractor
        self.metrics = parse_metrics(metrics)
        self.every = int(every)
        self.num = int(num)
        self.seed = int(seed)
        self.log_dir = log_dir
        self.prefix = str(prefix)
        self.at_train_end = bool(at_train_end)
        self.evaluate_options = dict(evaluate_options)
        self.history = []
        self.last_result = None
        self._writer = None
        self._last_step = None
        self._evaluated_step = None

    def _step(self):
        return int(np.asarray(keras.ops.convert_to_numpy(self.model.step)))

    def _reference_stats(self):
        if not isinstance(self.reference, ref_lib.ReferenceStats):
            needs = any(m in self.metrics for m in ("kid", "knn", "pr", "dc"))
            self.reference = ref_lib.compute_reference_stats(
                self.reference, self.extractor,
                self.evaluate_options.get("batch_size", 100),
                keep_features=needs,
                metadata={"source": "images given to EvaluationCallback"})
        return self.reference

    def evaluate(self, step=None):
        """Scores the model now; logs them and returns the scores dict."""
        step = self._step() if step is None else int(step)
        result = evaluate_model(
            self.model, self._reference_stats(), self.extractor,
            self.metrics, self.num, seed=self.seed, **self.evaluate_options)
        scores = result["scores"]
        self.last_result = result
        self.history.append({"step": step, **scores})
        self._evaluated_step = step
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(self.log_dir)
            with self._writer.as_default(step=step):
                for name, value in scores.items():
                    tf.summary.scalar(self.prefix + name, value)
            self._writer.flush()
        return scores

    def on_train_begin(self, logs=None):
        self._last_step = self._step()

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step // self.every > self._last_step // self.every:
            scores = self.evaluate(step)
            if logs is not None:
                logs.update({self.prefix + k: v for k, v in scores.items()})
        self._last_step = step

    def on_train_end(self, logs=None):
        step = self._step()
        if self.at_train_end and self._evaluated_step != step:
            scores = self.evaluate(step)
            if logs is not None:
                logs.update({self.prefix + k: v for k, v in scores.items()})
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = ["EvaluationCallback"]
