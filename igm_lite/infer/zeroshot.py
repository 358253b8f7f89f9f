"""Zero-shot multi-object perception: which K of M prompts does an image show?

A text-conditioned diffusion model was trained (or pretrained on the web) with captions; nothing is
trained for the task. Three ways to choose K prompts, all judged on the SAME shared noise samples:

    IGM          argmin_{|S| = K}  E || eps - eps_S(x_t, t) ||^2,  eps_S the composition of S's prompts
                 (the paper's mean (1/K) sum_k eps_k, or the sum of differences eps_u + sum_k (eps_k - eps_u))
    DC top-K     Diffusion Classifier: score each prompt ALONE, L(m) = E || eps - eps_m ||^2, keep the K best
    DC joint     Diffusion Classifier on joint prompts: one prompt per K-set ("a 3 and a 7"), the best one

IGM and DC top-K read the same cache (each prompt evaluated once per noise sample, ``CachedScorer``);
DC joint evaluates its C(M, K) joint prompts. ``naive`` is IGM computed the official way (every set's
every prompt at every sample): the same decisions at many more network evaluations.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from ..checks import check_int, check_pool
from ..compose import check_mode
from .base import Engine
from .discrete import CachedScorer, DiscreteConfig, DiscreteEngine, DiscreteResult, subsets

READERS = ("igm", "dc", "dc-joint")


@dataclass(frozen=True)
class ZeroShotConfig(DiscreteConfig):
    """The settings of ``ZeroShot``: ``DiscreteConfig``'s shared noise and IGM's enumeration of the K-sets (``method``:
    "cached", "eliminate" with its ``schedule``, "race" with its ``confidence``, or "naive"), and:"""

    reader: str = "igm"  # "igm" (the K-set whose composition denoises best), "dc" (the K best prompts alone), "dc-joint" (the best joint prompt)
    mode: str | None = None  # "igm": the composition form of the K-sets ("mean", "weighted"; None: the model's own)

    def __post_init__(self):
        super().__post_init__()
        if self.reader not in READERS:
            raise ValueError(f"reader must be one of {READERS}, got {self.reader!r}")
        if self.mode is not None:
            check_mode(self.mode)
        if self.reader != "igm":  # Diffusion Classifier scores single (or joint) prompts from the cache: nothing to compose or enumerate
            for name, value, default in (("method", self.method, "cached"), ("mode", self.mode, None)):
                if value != default:
                    raise ValueError(f"{name} is read by reader 'igm' only (how it enumerates and composes K-sets); "
                                     f"reader={self.reader!r} would ignore {name}={value!r}")


class ZeroShot(Engine):
    """Choose K of M prompts for an image: ``infer(x0, pool, k)`` one image, ``infer_many(x0, pool, k)`` a batch ->
    ``DiscreteResult`` (``k`` is given: zero-shot perception names how many prompts to choose). The reader and IGM's
    enumeration are settings (``ZeroShotConfig``); ``compare`` gives IGM's answer in both composition forms and
    Diffusion Classifier's from one cache.

    Args:
        model: a ``ComposedDenoiser`` whose concepts are prompts (a caption-conditioned digit model, or
            ``igm_lite.sd.StableDiffusionDenoiser``).
        scheduler: the noise schedule of that model.
        config: a ``ZeroShotConfig`` (None: the model's recorded settings, ``inference.json``'s ``"discrete"`` block,
            over the dataclass's defaults); keyword arguments override its fields (``n_samples``, ``t_range``, ``seed``,
            ``spacing``, ``max_rows``, ``method``, ``schedule``, ``confidence``, ``reader``, ``mode``; every K-set is
            enumerated, so ``max_sets``, ``k_max`` and ``swaps`` are not read and are refused).
        joint_prompts: ``sets (S, K) -> (S, D)``, the joint prompt of each K-set (reader ``dc-joint``).
    """

    Config, kind, unread = ZeroShotConfig, "discrete", ("max_sets", "k_max", "swaps")

    def __init__(self, model, scheduler, config: ZeroShotConfig | None = None, *, joint_prompts=None, **overrides):
        super().__init__(model, scheduler, config, **overrides)
        if self.config.reader == "dc-joint" and joint_prompts is None:
            raise ValueError("reader 'dc-joint' needs joint_prompts: a function from K-sets (S, K) to prompts (S, D)")
        if self.config.reader != "dc-joint" and joint_prompts is not None:
            raise ValueError(f"joint_prompts are read by reader 'dc-joint' only, not {self.config.reader!r}")
        self.joint_prompts = joint_prompts
        enumeration = DiscreteConfig(**{f.name: getattr(self.config, f.name) for f in dataclasses.fields(DiscreteConfig)})
        composed = model.composed_as(self.config.mode) if self.config.mode else model  # IGM's K-sets in the configured form
        self.igm = DiscreteEngine(composed, scheduler, enumeration)  # IGM's enumeration, by the configuration's method
        self.cached = DiscreteEngine(model, scheduler, dataclasses.replace(enumeration, method="cached", schedule=None,
                                                                          confidence=DiscreteConfig.confidence))

    def infer(self, x0: torch.Tensor, pool: torch.Tensor, *, k: int | None = None) -> DiscreteResult:
        """The K prompts (indices into ``pool`` (M, D), sorted) that the configured reader chooses for x0."""
        M = check_pool(pool, self.model).shape[0]
        if k is None:
            raise ValueError("ZeroShot chooses K prompts: give k (a count in [1, M])")
        k = check_int(k, "k", 1, M)
        reader = self.config.reader
        if reader == "igm":
            return self.igm.infer(x0, pool, sets=subsets(M, k))
        if reader == "dc":
            res = self.cached.infer(x0, pool, sets=subsets(M, 1))
            top = res.errors.argsort()[:k].sort().values
            return DiscreteResult(top, float(res.errors[top].mean()), res.candidates, res.errors, res.network_evals, res.seconds,
                                  samples_scored=res.samples_scored)
        start = time.perf_counter()
        sets = subsets(M, k)
        res = self.cached.infer(x0, self.joint_prompts(sets).to(pool), sets=subsets(len(sets), 1))
        best = sets[int(res.errors.argmin())]
        return DiscreteResult(best, res.error, sets, res.errors, res.network_evals, time.perf_counter() - start,
                              samples_scored=res.samples_scored)

    def compare(self, x0: torch.Tensor, pool: torch.Tensor, k: int) -> "Comparison":
        """IGM in both composition forms and Diffusion Classifier top-K from ONE cache: each prompt and the
        empty prompt evaluated once per noise sample (M + 1 rows)."""
        M = pool.shape[0]
        if not 1 <= k <= M:
            raise ValueError(f"k must lie in [1, M = {M}], got {k}")
        start = time.perf_counter()
        both = self.model.composed_as("weighted", 1.0)  # a cache built in this form holds eps_u as well
        scorer = CachedScorer(both, x0, pool, self.cached.noise_for(x0), self.cached.scheduler, self.cached.config.max_rows)
        ksets = subsets(M, k)
        prompt_errors = scorer.errors(subsets(M, 1), mode="mean")  # one prompt alone: every form agrees
        set_errors = {form: scorer.errors(ksets, mode=form, weight=1.0) for form in ("mean", "weighted")}
        return Comparison({form: ksets[int(e.argmin())] for form, e in set_errors.items()}, prompt_errors.argsort()[:k].sort().values,
                          ksets, set_errors, prompt_errors, scorer.network_evals, time.perf_counter() - start)


@dataclass
class Comparison:
    """What ``ZeroShot.compare`` returns for one image: every method's answer and the errors behind them, from one cache."""

    igm: dict  # composition form ("mean", "weighted") -> the K prompts IGM chooses (K,) (indices into the pool, sorted)
    dc: torch.Tensor  # the K prompts Diffusion Classifier keeps: the K least errors of single prompts (K,)
    sets: torch.Tensor  # (S, K) every K-set of prompts
    set_errors: dict  # form -> (S,) the error of each K-set composed that way
    prompt_errors: torch.Tensor  # (M,) the error of each prompt alone (every form agrees on one prompt)
    network_evals: int  # backbone rows spent: M + 1 per noise sample
    seconds: float
