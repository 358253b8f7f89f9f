"""The one batch format shared by every world and loader."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Batch:
    """A batch of samples with their ground-truth concepts.

    Attributes:
        x: (B, *shape) samples (images, or clouds/points for 2-D worlds).
        concepts: (B, K, D) concepts, padded to a common K.
        mask: (B, K) bool, True for real concepts.
        meta: anything else (scene ids, object counts, file names).
    """

    x: torch.Tensor
    concepts: torch.Tensor
    mask: torch.Tensor
    meta: dict = field(default_factory=dict)

    def to(self, device) -> "Batch":
        return Batch(self.x.to(device), self.concepts.to(device), self.mask.to(device), self.meta)

    def __len__(self) -> int:
        return self.x.shape[0]
