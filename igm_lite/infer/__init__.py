"""Inference engines: one algorithm per file behind one result type (``InferenceResult``)."""
from .base import InferenceResult, denoising_error
from .continuous import PositionEngine, descend, k_scan, multistart
from .discrete import CachedScorer, DiscreteEngine, greedy_search, pad_sets, product_sets, subsets
from .zeroshot import ZeroShot

__all__ = ["CachedScorer", "DiscreteEngine", "InferenceResult", "PositionEngine", "descend", "k_scan", "multistart", "denoising_error", "greedy_search", "pad_sets", "product_sets", "subsets", "ZeroShot"]
