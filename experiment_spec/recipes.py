"""One recipe per mixture-of-generators model of the HMoG paper's comparison.

A :class:`MixtureRecipe` is everything the toolkit knows about one model:
the mixing part of its generator (``z -> h``, before the shared block B_s),
its K rule, the authors' objective and which alternative objectives it
takes, the Keras model class, how many outputs its discriminator has, the
normalisation the authors' code puts in B_s and D, how to tell which
generator drew a sample, and the authors' MNIST schedule. The library
(``deep_learning.models.mixture_gans``), every script, the interpretability
tools and the toy study read these records; none of them branches on a
model's name. Adding a seventh mixture model means its mixing layer (a
builder op) and one more record here.

The records are plain data: the model class is named by its registered
Keras name (``mixgan>NAME``) and the assignment by its kind (see
:data:`ASSIGNMENTS`), both resolved in ``deep_learning.models``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

__all__ = ["ASSIGNMENTS", "ALTERNATIVE_OBJECTIVES", "MixtureRecipe",
           "RECIPES", "check_k", "get", "names", "networks_from_dicts",
           "objective_of", "run_tag"]

#: How a model tells which of its generators drew a sample:
#: ``single``: one generator (FC); ``tree``: the most responsible leaf of
#: its soft tree (MoG, HMoG); ``gumbel``: the expert its straight-through
#: Gumbel-softmax gate chose (MEGAN); ``heads``: the head a fake came from,
#: every code going through all K heads (MADGAN, MGAN).
ASSIGNMENTS = ("single", "tree", "gumbel", "heads")

#: The objectives a mixture of one generator output per code can be
#: trained with instead of its own (the HMoG paper: MEGAN "can be used with
#: either Wasserstein loss or the original loss"): WGAN-GP with lambda 10
#: and n_critic 5, or the non-saturating loss with n_critic 5.
ALTERNATIVE_OBJECTIVES = {"wasserstein": ("wasserstein", 5),
                          "logistic": ("logistic", 5)}


@dataclasses.dataclass(frozen=True)
class MixtureRecipe:
    """One mixture model of the comparison.

    Attributes:
        name: str. Command-line name (``'hmog'``).
        label: str. Name in tables and figures (``'HMoG'``).
        paper: str. Where the model comes from.
        model_class: str. Registered Keras name of the model class (package
            ``mixgan``): ``'GAN'``, ``'MEGAN'``, ``'MADGAN'`` or ``'MGAN'``.
        mixing: callable ``(k, units) -> list of layer dicts``: the
            generator's ``z -> h`` part.
        k_rule: str. ``'one'`` (a single generator, K is 1), ``'at_least_2'``
            or ``'power_of_2'`` (a binary tree of ``log2 K`` levels).
        objective: ``(gan_loss, n_critic)`` of the authors' code.
        alternatives: bool. Whether :data:`ALTERNATIVE_OBJECTIVES` apply.
        heads: bool. Every code goes through all K generator heads; the
            model class takes ``num_generators=K``.
        discriminator_outputs: str. ``'one'`` (a real/fake score) or
            ``'k_plus_one'`` (real plus one class per generator).
        block_norm: dict or None. Layer-dict keys the authors' code adds to
            every hidden layer of B_s and D (batch norm after the
            activation for MADGAN and MGAN); None keeps the script's dicts.
        assignment: str. One of :data:`ASSIGNMENTS`.
        mnist_steps: int. Generator steps of the authors' MNIST runs
            (epochs x 60,000 // (128 x n_critic)).
    """

    name: str
    label: str
    paper: str
    model_class: str
    mixing: Callable[[int, int], list]
    k_rule: str
    objective: tuple
    alternatives: bool
    heads: bool
    discriminator_outputs: str
    block_norm: dict | None
    assignment: str
    mnist_steps: int

    def k_of(self, k):
        """The number of generators the model has for a requested ``k``."""
        return 1 if self.k_rule == "one" else int(k)

    def d_outputs(self, k):
        """Width of the discriminator's last layer."""
        return self.k_of(k) + 1 if self.discriminator_outputs == \
            "k_plus_one" else 1

    def class_kwargs(self, k):
        """Constructor arguments of :attr:`model_class` beyond the GAN's."""
        return {"num_generators": self.k_of(k)} if self.heads else {}


def _fc(k, units):
    return [{"name": "fc", "op": "d", "out": units, "act": "relu",
             "init": "dcgan"}]


def _mog(k, units):
    return [{"name": "mog", "op": "mog", "out": units, "leaves": k}]


def _hmog(k, units):
    return [{"name": "tree", "op": "hmog", "out": units,
             "depth": round(math.log2(k))}]


def _megan(k, units):
    return [{"name": "megan", "op": "megan", "out": units, "experts": k}]


def _heads(k, units):
    return [{"name": "heads", "op": "heads", "out": units, "heads": k,
             "act": "relu", "act_nm": "bn", "nm_pos": "after"},
            {"name": "fold", "op": "fold_heads"}]


_HMOG = "Ahmetoglu & Alpaydin, Hierarchical Mixtures of Generators (2020)"
_BN_AFTER = {"act_nm": "bn", "nm_pos": "after"}

RECIPES = {r.name: r for r in (
    MixtureRecipe("fc", "FC", _HMOG + ", the single-generator baseline",
                  "GAN", _fc, "one", ("wasserstein", 5), True, False, "one",
                  None, "single", 23_250),
    MixtureRecipe("mog", "MoG", _HMOG + ", flat softmax mixture", "GAN",
                  _mog, "at_least_2", ("wasserstein", 5), True, False, "one",
                  None, "tree", 23_250),
    MixtureRecipe("hmog", "HMoG", _HMOG, "GAN", _hmog, "power_of_2",
                  ("wasserstein", 5), True, False, "one", None, "tree",
                  23_250),
    MixtureRecipe("megan", "MEGAN", "Park et al., MEGAN (IJCAI 2018)",
                  "MEGAN", _megan, "at_least_2", ("logistic", 5), True,
                  False, "one", None, "gumbel", 4_650),
    MixtureRecipe("madgan", "MADGAN", "Ghosh et al., MAD-GAN (CVPR 2018)",
                  "MADGAN", _heads, "at_least_2", ("logistic", 1), False,
                  True, "k_plus_one", _BN_AFTER, "heads", 23_400),
    MixtureRecipe("mgan", "MGAN", "Hoang et al., MGAN (ICLR 2018)", "MGAN",
                  _heads, "at_least_2", ("logistic", 1), False, True,
                  "k_plus_one", _BN_AFTER, "heads", 23_400),
)}


def names():
    """The recipe names, in the order of the paper's tables."""
    return list(RECIPES)


def get(name):
    """The :class:`MixtureRecipe` called ``name``."""
    try:
        return RECIPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown mixture model {name!r}; choose from "
                         f"{names()}") from None


def check_k(name, k):
    """``k`` if model ``name`` can have ``k`` generators, else ValueError
    saying what it needs."""
    recipe = get(name)
    if isinstance(k, bool) or not isinstance(k, int):
        raise ValueError(f"K must be an integer; received {k!r}")
    if recipe.k_rule == "one":
        return k
    if k < 2:
        raise ValueError(f"{recipe.label} needs K >= 2 generators; "
                         f"received K={k}")
    if recipe.k_rule == "power_of_2" and k & (k - 1):
        raise ValueError(f"{recipe.label} is a binary tree: K must be a "
                         f"power of two (2, 4, 8, 16, 32); received K={k}")
    return k


def objective_of(name, objective=None):
    """``(gan_loss, n_critic)`` of model ``name``: the authors' when
    ``objective`` is None, else one of :data:`ALTERNATIVE_OBJECTIVES` where
    the recipe takes it."""
    recipe = get(name)
    if objective is None:
        return recipe.objective
    if objective not in ALTERNATIVE_OBJECTIVES:
        raise ValueError(f"objective must be None or one of "
                         f"{sorted(ALTERNATIVE_OBJECTIVES)}; received "
                         f"{objective!r}")
    if not recipe.alternatives:
        raise ValueError(f"{recipe.label} trains only with its own (K+1)-way "
                         f"objective; received objective={objective!r}")
    return ALTERNATIVE_OBJECTIVES[objective]


def run_tag(name, k):
    """Short name of a model and its K in run folders and score files:
    ``'hmog16'``, ``'fc'``."""
    recipe = get(name)
    return name if recipe.k_rule == "one" else f"{name}{int(k)}"


def networks_from_dicts(name, k, b_s, d, h_shape):
    """Generator and discriminator specs of model ``name`` from a script's
    B_s and D dicts.

    The generator is the recipe's mixing part followed by ``b_s``; where
    the recipe has a :attr:`~MixtureRecipe.block_norm` it is added to every
    hidden layer of B_s and D (the authors' ``ConvBlock`` for MADGAN and
    MGAN), and D's last layer gets the recipe's number of outputs.

    Returns:
        ``(generator spec, discriminator spec)``, new lists of new dicts.
    """
    recipe = get(name)
    check_k(name, k)
    units = math.prod(int(v) for v in h_shape)
    b_s, d = [dict(x) for x in b_s], [dict(x) for x in d]
    if recipe.block_norm:
        for layer in b_s[:-1] + d[:-1]:
            layer.update(recipe.block_norm)
    d[-1]["out"] = recipe.d_outputs(k)
    return recipe.mixing(recipe.k_of(k), units) + b_s, d
