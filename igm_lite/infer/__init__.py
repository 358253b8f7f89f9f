"""Inference engines: one algorithm per file, each with one configuration dataclass and a result dataclass.

    engine (file)                        configuration     returns
    DiscreteEngine (discrete)            DiscreteConfig    InferenceResult: answer = pool indices (K,)
    PositionEngine (continuous)          PositionConfig    InferenceResult: answer = positions (K, 2)
    multistart, k_scan (continuous)      DescentConfig     InferenceResult per image: answer = positions (K, 2)
    ZeroShot.perceive / .compare         DiscreteConfig    InferenceResult / Comparison (every method from one cache)
    infer_faces (attributes)             DiscreteConfig    AttributeResult (attributes of a batch of faces)

``InferenceResult`` documents what each of its fields holds for each engine.
"""
from .attributes import AttributeResult, Votes, attribute_votes, infer_faces
from .base import InferenceResult, denoising_error
from .continuous import OFFICIAL, DescentConfig, PositionConfig, PositionEngine, descend, grid_region, k_scan, multistart
from .discrete import CachedScorer, DiscreteConfig, DiscreteEngine, greedy_search, pad_sets, product_sets, subsets
from .zeroshot import ZERO_SHOT, Comparison, ZeroShot

__all__ = ["AttributeResult", "CachedScorer", "Comparison", "DescentConfig", "DiscreteConfig", "DiscreteEngine", "InferenceResult",
           "OFFICIAL", "PositionConfig", "PositionEngine", "Votes", "ZERO_SHOT", "ZeroShot", "attribute_votes", "denoising_error",
           "descend", "greedy_search", "grid_region", "infer_faces", "k_scan", "multistart", "pad_sets", "product_sets", "subsets"]
