"""Worlds and loaders, all returning ``Batch`` (x, concepts, mask, meta). Data imports nothing else of igm_lite."""
from .base import Batch
from .toy2d import StripeWorld

__all__ = ["Batch", "StripeWorld"]
