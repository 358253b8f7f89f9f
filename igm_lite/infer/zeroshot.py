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

import time
from dataclasses import dataclass

import torch

from ..schedule import NoiseConfig
from .base import Engine
from .discrete import CachedScorer, DiscreteConfig, DiscreteEngine, DiscreteResult, subsets

METHODS = ("igm", "dc", "dc-joint", "naive")
# Zero-shot's shared noise: the discrete engine's settings, with timesteps from the middle of the schedule (the
# smallest t barely tell prompts apart and the largest are mostly noise).
ZERO_SHOT = DiscreteConfig(noise=NoiseConfig(t_range=(100, 700)))


class ZeroShot(Engine):
    """Choose K of M prompts for an image by one of ``METHODS``: ``infer(x0, pool, k, method="igm")`` one image,
    ``infer_many`` a batch -> ``DiscreteResult``; ``compare`` gives every method's answer from one cache.

    Args:
        model: a ``ComposedDenoiser`` whose concepts are prompts (a caption-conditioned digit model, or
            ``igm_lite.sd.StableDiffusionDenoiser``).
        scheduler: the noise schedule of that model.
        config: the shared noise and batching, a ``DiscreteConfig`` (None: the model's recorded settings,
            ``inference.json``, over ``ZERO_SHOT``); keyword arguments
            override its fields (``n_samples``, ``t_range``, ``seed``, ``spacing``, ``max_rows``; ``method`` is how
            IGM enumerates the K-sets: ``"cached"``, ``"eliminate"`` with its ``schedule``, ``"race"`` with its
            ``confidence``, or ``"naive"``; ``max_sets`` is refused: every K-set is enumerated).
        joint_prompts: ``sets (S, K) -> (S, D)``, the joint prompt of each K-set (for ``dc-joint``).
    """

    Config, defaults = DiscreteConfig, ZERO_SHOT

    def __init__(self, model, scheduler, config: DiscreteConfig | None = None, *, joint_prompts=None, **overrides):
        super().__init__(model, scheduler, config, **overrides)
        if self.config.max_sets != DiscreteConfig.max_sets:  # every K-set is enumerated: a limit would be ignored
            raise ValueError(f"ZeroShot enumerates every K-set of the pool and never reads max_sets; got max_sets={self.config.max_sets}")
        self.joint_prompts = joint_prompts
        self.igm = DiscreteEngine(model, scheduler, self.config)  # IGM's enumeration, by the configuration's method
        self.cached = DiscreteEngine(model, scheduler, self.config, method="cached")
        self.naive = DiscreteEngine(model, scheduler, self.config, method="naive")

    def infer(self, x0: torch.Tensor, pool: torch.Tensor, k: int, method: str = "igm", mode: str | None = None) -> DiscreteResult:
        """The K prompts (indices into ``pool`` (M, D), sorted) that ``method`` chooses for x0.
        ``mode`` composes IGM's sets by another form than the model's own (``ComposedDenoiser.composed_as``)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        M = pool.shape[0]
        if not 1 <= k <= M:
            raise ValueError(f"k must lie in [1, M = {M}], got {k}")
        with self.model.composed_as(mode or self.model.mode):
            if method in ("igm", "naive"):
                engine = self.igm if method == "igm" else self.naive
                return engine.infer(x0, pool, sets=subsets(M, k))
            if method == "dc":
                res = self.cached.infer(x0, pool, sets=subsets(M, 1))
                top = res.errors.argsort()[:k].sort().values
                return DiscreteResult(top, float(res.errors[top].mean()), res.candidates, res.errors, res.network_evals, res.seconds)
            if self.joint_prompts is None:
                raise ValueError("method='dc-joint' needs joint_prompts: a function from K-sets (S, K) to prompts (S, D)")
            start = time.perf_counter()
            sets = subsets(M, k)
            res = self.cached.infer(x0, self.joint_prompts(sets).to(pool), sets=subsets(len(sets), 1))
            best = sets[int(res.errors.argmin())]
            return DiscreteResult(best, res.error, sets, res.errors, res.network_evals, time.perf_counter() - start)

    def compare(self, x0: torch.Tensor, pool: torch.Tensor, k: int) -> "Comparison":
        """IGM in both composition forms and Diffusion Classifier top-K from ONE cache: each prompt and the
        empty prompt evaluated once per noise sample (M + 1 rows)."""
        M = pool.shape[0]
        if not 1 <= k <= M:
            raise ValueError(f"k must lie in [1, M = {M}], got {k}")
        start = time.perf_counter()
        with self.model.composed_as("weighted", 1.0):  # the cache then holds eps_u as well
            scorer = CachedScorer(self.model, x0, pool, self.cached.noise_for(x0), self.cached.scheduler, self.cached.config.max_rows)
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
