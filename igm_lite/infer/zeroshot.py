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

import torch

from .base import InferenceResult
from .discrete import CachedScorer, DiscreteEngine, subsets

METHODS = ("igm", "dc", "dc-joint", "naive")


class ZeroShot:
    """Choose K of M prompts for an image by one of ``METHODS``.

    Args:
        model: a ``ComposedDenoiser`` whose concepts are prompts (a caption-conditioned digit model, or
            ``igm_lite.sd.StableDiffusionDenoiser``).
        scheduler: the noise schedule of that model.
        n_samples, t_range, seed, spacing, max_rows: the shared noise and batching (``DiscreteEngine``).
        joint_prompts: ``sets (S, K) -> (S, D)``, the joint prompt of each K-set (for ``dc-joint``).
    """

    def __init__(self, model, scheduler, *, n_samples: int = 32, t_range=(100, 700), seed: int = 0,
                 spacing: str = "random", max_rows: int = 128, joint_prompts=None):
        self.model, self.joint_prompts = model, joint_prompts
        kw = dict(n_samples=n_samples, t_range=t_range, seed=seed, spacing=spacing, max_rows=max_rows)
        self.cached = DiscreteEngine(model, scheduler, method="cached", **kw)
        self.naive = DiscreteEngine(model, scheduler, method="naive", **kw)

    def perceive(self, x0: torch.Tensor, pool: torch.Tensor, k: int, method: str = "igm", mode: str | None = None) -> InferenceResult:
        """The K prompts (indices into ``pool`` (M, D), sorted) that ``method`` chooses for x0.
        ``mode`` composes IGM's sets by another form than the model's own (``ComposedDenoiser.composed_as``)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        M = pool.shape[0]
        if not 1 <= k <= M:
            raise ValueError(f"k must lie in [1, M = {M}], got {k}")
        with self.model.composed_as(mode or self.model.mode):
            if method in ("igm", "naive"):
                engine = self.cached if method == "igm" else self.naive
                return engine.infer(x0, pool, sets=subsets(M, k))
            if method == "dc":
                res = self.cached.infer(x0, pool, sets=subsets(M, 1))
                top = res.errors.argsort()[:k].sort().values
                return InferenceResult(top, float(res.errors[top].mean()), res.candidates, res.errors,
                                       res.network_evals, res.seconds)
            if self.joint_prompts is None:
                raise ValueError("method='dc-joint' needs joint_prompts: a function from K-sets (S, K) to prompts (S, D)")
            start = time.perf_counter()
            sets = subsets(M, k)
            res = self.cached.infer(x0, self.joint_prompts(sets).to(pool), sets=subsets(len(sets), 1))
            best = sets[int(res.errors.argmin())]
            return InferenceResult(best, res.error, sets, res.errors, res.network_evals, time.perf_counter() - start)

    def compare(self, x0: torch.Tensor, pool: torch.Tensor, k: int) -> dict:
        """IGM in both composition forms and Diffusion Classifier top-K from ONE cache: each prompt and the
        empty prompt evaluated once per noise sample (M + 1 rows). Returns {"igm mean", "igm weighted",
        "dc": answers (K,), "sets" (S, K), "set_errors": {form: (S,)}, "prompt_errors" (M,), "network_evals", "seconds"}."""
        M = pool.shape[0]
        if not 1 <= k <= M:
            raise ValueError(f"k must lie in [1, M = {M}], got {k}")
        start = time.perf_counter()
        with self.model.composed_as("weighted", 1.0):  # the cache then holds eps_u as well
            scorer = CachedScorer(self.model, x0, pool, self.cached.noise_for(x0), self.cached.scheduler, self.cached.max_rows)
        ksets = subsets(M, k)
        prompt_errors = scorer.errors(subsets(M, 1), mode="mean")  # one prompt alone: every form agrees
        set_errors = {form: scorer.errors(ksets, mode=form, weight=1.0) for form in ("mean", "weighted")}
        out = {f"igm {form}": ksets[int(e.argmin())] for form, e in set_errors.items()}
        return {**out, "dc": prompt_errors.argsort()[:k].sort().values, "sets": ksets, "set_errors": set_errors,
                "prompt_errors": prompt_errors, "network_evals": scorer.network_evals, "seconds": time.perf_counter() - start}
