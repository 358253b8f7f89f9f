"""Inference engines: one algorithm per file, each an ``Engine`` with one configuration dataclass and one result type.

Every engine has the same door (``base.Engine``): ``Engine(model, scheduler, config=None, **overrides)``, then
``infer(x0, ...)`` for one image and ``infer_many(x0, ...)`` for a batch, one answer per image. Every configuration
holds the shared noise as ``config.noise`` (``igm_lite.schedule.NoiseConfig``: n_samples, t_range, spacing, seed).

    engine (file)                  configuration             infer(x0, ...) -> result
    DiscreteEngine (discrete)      DiscreteConfig            (x0, pool, sets=None, k=None) -> DiscreteResult: pool indices (K,)
    PositionEngine (continuous)    PositionConfig            (x0, k=None) -> PositionResult: positions (K, 2), K inferred
    DescentEngine (continuous)     DescentConfig             (x0, k=None) -> DescentResult: positions (K, 2), K scanned
    ZeroShot (zeroshot)            DiscreteConfig, ZERO_SHOT (x0, pool, k, method) -> DiscreteResult; compare -> Comparison
    AttributeEngine (attributes)   DiscreteConfig            (faces) -> AttributeResult (a batch's attributes as tensors)

``multistart`` and ``k_scan`` are what ``DescentEngine`` runs; ``infer_faces`` runs an attribute engine or the ResNet; ``log_likelihoods`` (plus ``attribute_log_prior``) reads a face's
configurations as a posterior.
"""
from .attributes import AttributeEngine, AttributeResult, Votes, attribute_log_prior, attribute_votes, infer_faces, log_likelihoods
from .base import Engine, InferenceResult, denoising_error
from .continuous import (
                         OFFICIAL,
                         DescentConfig,
                         DescentEngine,
                         DescentResult,
                         PositionConfig,
                         PositionEngine,
                         PositionResult,
                         descend,
                         grid_region,
                         k_scan,
                         multistart,
)
from .discrete import CachedScorer, DiscreteConfig, DiscreteEngine, DiscreteResult, greedy_search, pad_sets, product_sets, subsets
from .zeroshot import ZERO_SHOT, Comparison, ZeroShot

__all__ = ["AttributeEngine", "AttributeResult", "CachedScorer", "Comparison", "DescentConfig", "DescentEngine", "DescentResult",
           "DiscreteConfig", "DiscreteEngine", "DiscreteResult", "Engine", "InferenceResult", "OFFICIAL", "PositionConfig",
           "PositionEngine", "PositionResult", "Votes", "ZERO_SHOT", "ZeroShot", "attribute_log_prior", "attribute_votes", "denoising_error", "descend",
           "greedy_search", "grid_region", "infer_faces", "k_scan", "log_likelihoods", "multistart", "pad_sets", "product_sets", "subsets"]
