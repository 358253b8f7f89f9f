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


def one_hot_sets(sets: list[list[int]], num_concepts: int, k_max: int | None = None):
    """Concept tensors for scenes given as lists of concept indices (one-hot concepts).

    ``one_hot_sets([[0, 3], [2]], 6)`` gives concepts ``(2, 2, 6)`` and mask ``[[1, 1], [1, 0]]``.
    """
    k_max = k_max or max(len(s) for s in sets)
    concepts = torch.zeros(len(sets), k_max, num_concepts)
    mask = torch.zeros(len(sets), k_max, dtype=torch.bool)
    for b, s in enumerate(sets):
        if len(s) > k_max:
            raise ValueError(f"scene {b} has {len(s)} concepts, more than k_max = {k_max}")
        for k, c in enumerate(s):
            concepts[b, k, c] = 1.0
            mask[b, k] = True
    return concepts, mask
