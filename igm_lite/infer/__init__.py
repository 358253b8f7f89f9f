"""Inference engines: one algorithm per file, each an ``Engine`` with one configuration dataclass and one result type.

Every engine follows one protocol (``base.Engine``): ``Engine(model, scheduler, config=None, **overrides)``, whose
settings are the config if given, else the model's recorded settings for that kind of engine (``inference.json``) over
the dataclass's defaults, overrides last; every field is read or refused. ``infer(x0, *inputs, k=None)`` answers one
image, ``infer_many(x0, *inputs, k=None)`` a batch as a list of such answers; ``k`` given, or None: found by the
engine's own rule. Every result subclasses ``InferenceResult`` (answer, error, candidates, errors, network_evals,
seconds). Every configuration holds the shared noise as ``config.noise`` (``igm_lite.schedule.NoiseConfig``).

    engine (file)                  kind         configuration     infer(x0, ...) -> result; k=None means
    DiscreteEngine (discrete)      discrete     DiscreteConfig    (x0, pool, sets=None, k=None) -> DiscreteResult; sets of 1..k_max
    AttributeEngine (attributes)   discrete     DiscreteConfig    (face) -> AttributeResult; K is 3, fixed
    ZeroShot (zeroshot)            discrete     ZeroShotConfig    (x0, pool, k) -> DiscreteResult; refused (k is given)
    PositionEngine (continuous)    positions    PositionConfig    (x0, k=None) -> PositionResult; grown greedily to k_max, pruned
    DescentEngine (continuous)     descent      DescentConfig     (x0, k=None) -> DescentResult; every K of k_range scanned

``multistart`` and ``k_scan`` are what ``DescentEngine`` runs; ``infer_faces`` reads a batch of faces by an attribute
engine, the likelihoods or the ResNet (-> ``FaceReadings``); ``log_likelihoods`` (plus ``attribute_log_prior``) reads a
face's configurations as a posterior; ``ZeroShot.compare`` reads every zero-shot reader from one cache (-> ``Comparison``).
"""
from .attributes import (
                         AttributeEngine,
                         AttributeResult,
                         FaceReadings,
                         Votes,
                         attribute_log_prior,
                         attribute_votes,
                         infer_faces,
                         log_likelihoods,
)
from .base import ENGINE_CONFIGS, Engine, InferenceResult, check_recorded, denoising_error
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
from .zeroshot import Comparison, ZeroShot, ZeroShotConfig

__all__ = ["AttributeEngine", "AttributeResult", "CachedScorer", "Comparison", "DescentConfig", "DescentEngine", "DescentResult",
           "DiscreteConfig", "DiscreteEngine", "DiscreteResult", "ENGINE_CONFIGS", "Engine", "FaceReadings", "InferenceResult", "OFFICIAL",
           "PositionConfig", "PositionEngine", "PositionResult", "Votes", "ZeroShot", "ZeroShotConfig", "attribute_log_prior", "attribute_votes",
           "check_recorded", "denoising_error", "descend", "greedy_search", "grid_region", "infer_faces", "k_scan", "log_likelihoods", "multistart", "pad_sets",
           "product_sets", "subsets"]
