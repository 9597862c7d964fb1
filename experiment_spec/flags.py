"""The flag set every ``my_tests`` script shares, checked before TensorFlow
loads.

One spelling per setting in every script:

| flag | meaning |
|---|---|
| ``--out DIR`` | parent folder of the run folders (default ``Results``) |
| ``--seed N`` / ``--seed 0,1,2`` | seed; a list where a script runs several |
| ``--steps N`` | generator steps (> 0) |
| ``--batch_size N`` | batch size of one critic step (> 0) |
| ``--precision P`` | ``float32``, ``mixed_float16``, ``mixed_bfloat16``, ``auto`` |
| ``--jit`` / ``--no-jit`` | XLA-compile the train step |
| ``--strategy S`` | ``default`` (one device), ``mirrored`` (this machine's GPUs), ``multi_worker`` (the workers of ``TF_CONFIG``) |
| ``--scalar_every N`` | TensorBoard scalar period (> 0) |
| ``--image_every N`` | image (or 2-D scatter) period, 0 for none |
| ``--data_dir DIR`` | data folder (must exist) |
| ``--publish`` | study scripts: write scores, tables and figures into ``docs/`` |

A script builds its parser with :class:`ExperimentParser`, naming the
common flags it uses (it accepts no other) and adding its own; every value
is checked when parsed, cross-flag rules by checks registered with
:meth:`ExperimentParser.add_check`. A bad value gives one line naming the
flag and what it takes, and exit status 2, before anything is imported or
written::

    my_test_toy.py: error: argument --steps: must be an integer > 0; received '0' (see --help)
"""

from __future__ import annotations

import argparse
import os
import sys

from experiment_spec import recipes

__all__ = ["COMMON", "ExperimentParser", "UsageError", "add_mixture_flags",
           "check_k_for_models",
           "choice_list", "fraction",
           "int_list", "mixture_models", "non_negative_int", "positive_float",
           "positive_int", "real_or_choice"]

#: The common flags, in the order --help lists them.
COMMON = ("out", "seed", "steps", "batch_size", "precision", "jit",
          "strategy", "scalar_every", "image_every", "data_dir")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
STRATEGIES = ("default", "mirrored", "multi_worker")


class UsageError(ValueError):
    """A flag value the script cannot use; exit status 2."""


def _int(text):
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer; received {text!r}") from None


def positive_int(text):
    """An integer > 0."""
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be an integer > 0; received {text!r}")
    return value


def non_negative_int(text):
    """An integer >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 0; received {text!r}")
    return value


def positive_float(text):
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number > 0; received {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a number > 0; received {text!r}")
    return value


def fraction(text):
    """A number in [0, 1) (e.g. the fraction of latent codes a truncation
    disregards)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a fraction in [0, 1); received {text!r}")
    return value


def real_or_choice(*choices):
    """A type taking one of ``choices`` or a number > 0."""
    def parse(text):
        if text in choices:
            return text
        try:
            return positive_float(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"must be one of {', '.join(map(repr, choices))} or a number "
                f"> 0; received {text!r}") from None
    parse.__name__ = "choice or number"
    return parse


def int_list(minimum=0):
    """A type taking comma-separated integers >= ``minimum``."""
    def parse(text):
        items = [t.strip() for t in str(text).split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(
                f"must be one or more comma-separated integers; received "
                f"{text!r}")
        values = []
        for item in items:
            try:
                value = int(item)
            except ValueError:
                value = None
            if value is None or value < minimum:
                raise argparse.ArgumentTypeError(
                    f"must be comma-separated integers >= {minimum}; "
                    f"{item!r} is not")
            values.append(value)
        return values
    parse.__name__ = "integer list"
    return parse


def choice_list(choices, allow_empty=False):
    """A type taking comma-separated names out of ``choices``."""
    choices = list(choices)

    def parse(text):
        items = [t.strip() for t in str(text).split(",") if t.strip()]
        if not items and not allow_empty:
            raise argparse.ArgumentTypeError(
                f"must name at least one of {', '.join(choices)}")
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from "
                f"{', '.join(choices)}")
        return items
    parse.__name__ = "name list"
    return parse


def mixture_models(allow_empty=False):
    """A type taking comma-separated mixture-model names (the recipes)."""
    return choice_list(recipes.names(), allow_empty)


def _existing_dir(text):
    path = os.path.expanduser(text)
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return path


class _Formatter(argparse.RawDescriptionHelpFormatter,
                 argparse.ArgumentDefaultsHelpFormatter):
    pass


class ExperimentParser(argparse.ArgumentParser):
    """The argument parser of a ``my_tests`` script.

    Args:
        description: str. The script's docstring (shown by ``--help``).
        common: sequence of str. The common flags (:data:`COMMON`, plus
            ``'publish'``) the script uses; it accepts no others.
        defaults: dict. Defaults of common flags (``steps``,
            ``batch_size``, ``seed``, ``out``, ...).
        seed_list: bool. ``--seed`` takes a comma-separated list (scripts
            that run several seeds). Defaults to False.
        paper_steps: int or None. The paper's full schedule; a run that
            will take it announces its length before it starts (see
            :meth:`announce`). Defaults to None.
        prog: str or None. Program name (the script's file name).
    """

    def __init__(self, description, common=COMMON, defaults=None,
                 seed_list=False, paper_steps=None, prog=None):
        prog = prog or os.path.basename(sys.argv[0] or "script")
        super().__init__(prog=prog, description=description,
                         formatter_class=_Formatter, allow_abbrev=False)
        unknown = sorted(set(common) - set(COMMON) - {"publish"})
        if unknown:
            raise ValueError(f"unknown common flags {unknown}")
        defaults = dict(defaults or {})
        self._checks = []
        self.paper_steps = paper_steps
        group = self.add_argument_group("common flags")
        add = group.add_argument
        if "out" in common:
            add("--out", default=defaults.pop("out", "Results"),
                help="parent folder of the run folders (and of the study's "
                     "scores, tables and figures)")
        if "seed" in common:
            if seed_list:
                add("--seed", type=int_list(0), default=defaults.pop(
                    "seed", [0]), help="seeds, comma-separated (one run "
                    "each)")
            else:
                add("--seed", type=non_negative_int,
                    default=defaults.pop("seed", 0), help="seed")
        if "steps" in common:
            add("--steps", type=positive_int,
                default=defaults.pop("steps", paper_steps),
                help="generator steps" + (
                    f" (the paper's schedule: {paper_steps:,})"
                    if paper_steps else ""))
        if "batch_size" in common:
            add("--batch_size", type=positive_int,
                default=defaults.pop("batch_size", 64),
                help="batch size of one critic step")
        if "precision" in common:
            add("--precision", choices=PRECISIONS,
                default=defaults.pop("precision", "float32"),
                help="dtype policy (losses, kernels and penalties stay "
                     "float32)")
        if "jit" in common:
            add("--jit", action=argparse.BooleanOptionalAction,
                default=defaults.pop("jit", False),
                help="XLA-compile the train step")
        if "strategy" in common:
            add("--strategy", choices=STRATEGIES,
                default=defaults.pop("strategy", "default"),
                help="tf.distribute strategy: one device, every GPU of "
                     "this machine, or the workers TF_CONFIG names (run "
                     "the same command on each; README: Scaling out)")
        if "scalar_every" in common:
            add("--scalar_every", type=positive_int,
                default=defaults.pop("scalar_every", 100),
                help="TensorBoard scalar period (generator steps)")
        if "image_every" in common:
            add("--image_every", type=non_negative_int,
                default=defaults.pop("image_every", 1000),
                help="TensorBoard sample-grid (2-D: scatter) period; 0 "
                     "writes none")
        if "data_dir" in common:
            add("--data_dir", type=_existing_dir,
                default=defaults.pop("data_dir", None),
                help="data folder (tensorflow-datasets data, or the "
                     "dataset's image / TFRecord folder)")
        if "publish" in common:
            add("--publish", action="store_true",
                help="write the scores, tables and figures into docs/ (the "
                     "published results) instead of under --out")
        if defaults:
            raise ValueError(f"defaults for flags the script does not use: "
                             f"{sorted(defaults)}")

    def add_check(self, check):
        """Registers ``check(args)``, run after parsing; it raises
        :class:`UsageError` (or ValueError) naming the flags at fault."""
        self._checks.append(check)
        return check

    def error(self, message):
        """One line on stderr, exit status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def parse(self, argv=None):
        """Parses ``argv`` (default ``sys.argv[1:]``) and runs the checks;
        exits with status 2 and one line on a bad value."""
        args = self.parse_args(argv)
        for check in self._checks:
            try:
                check(args)
            except ValueError as error:
                self.error(str(error))
        return args

    def announce(self, steps, paper_steps=None):
        """Prints the planned number of steps first when a run will take
        the paper's full schedule (``paper_steps``, default the parser's;
        hours to days), so that nobody starts one by accident."""
        paper_steps = paper_steps or self.paper_steps
        if paper_steps and steps >= paper_steps:
            print(f"{self.prog}: planned {steps:,} generator steps (the "
                  f"paper's full schedule); pass --steps N for a shorter "
                  f"run.", flush=True)


def check_k_for_models(models, k, flag="--k"):
    """Raises :class:`UsageError` when a model cannot have ``k``
    generators (e.g. ``--k 3`` for the binary HMoG tree)."""
    for model in models:
        for value in (k if isinstance(k, (list, tuple)) else [k]):
            try:
                recipes.check_k(model, value)
            except ValueError as error:
                raise UsageError(f"argument {flag}: {error}") from None


def add_mixture_flags(parser, k=16):
    """The flags of a single mixture-model run (``--model``, ``--k``,
    ``--objective``, ``--figures`` / ``--no-figures``) and their check
    against the recipes (K rule, alternative objectives)."""
    parser.add_argument("--model", choices=recipes.names(), default="hmog",
                        help="mixture model")
    parser.add_argument("--k", type=positive_int, default=k,
                        help="generators (leaves); HMoG depth = log2 k; FC "
                             "has one")
    parser.add_argument("--objective", default=None,
                        choices=sorted(recipes.ALTERNATIVE_OBJECTIVES),
                        help="train with this objective instead of the "
                             "model's own (not for MADGAN/MGAN)")
    parser.add_argument("--figures", action="store_true", default=True,
                        help="write the interpretability figures")
    parser.add_argument("--no-figures", dest="figures", action="store_false")

    @parser.add_check
    def _check(args):
        check_k_for_models([args.model], args.k)
        try:
            recipes.objective_of(args.model, args.objective)
        except ValueError as error:
            raise UsageError(f"argument --objective: {error}") from None
