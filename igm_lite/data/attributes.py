"""The attribute encoding of chapter 3, shared by the procedural faces and the real CelebA.

Concepts follow the paper: attribute k with value v is the one-hot vector e_{2k + (1 - v)} of size 6
(slots: black hair, not black hair, glasses, no glasses, smiling, not smiling), so a face is K = 3
concepts of D = 6. The discrete engine enumerates configurations of the pool of those 6 slots.
"""
from __future__ import annotations

import torch

ATTRIBUTES = ("black_hair", "eyeglasses", "smiling")


def attribute_concepts(attrs: torch.Tensor) -> torch.Tensor:
    """attrs (B, 3) in {0, 1} -> concepts (B, 3, 6): the paper's pair of one-hot slots per attribute."""
    attrs = torch.as_tensor(attrs).long()
    if attrs.dim() != 2 or attrs.shape[1] != len(ATTRIBUTES):
        raise ValueError(f"attrs must have shape (B, {len(ATTRIBUTES)}), got {tuple(attrs.shape)}")
    slots = 2 * torch.arange(len(ATTRIBUTES)) + (1 - attrs)  # (B, 3)
    return torch.nn.functional.one_hot(slots, 2 * len(ATTRIBUTES)).float()


def attribute_pool() -> torch.Tensor:
    """The 6 candidate concepts (one per attribute value), in slot order: (6, 6) = the identity.
    A configuration picks one per attribute: pool indices (2a, 2a + 1) are attribute a's values (1, 0)."""
    return torch.eye(2 * len(ATTRIBUTES))


def attrs_from_slots(slots: torch.Tensor) -> torch.Tensor:
    """Chosen pool indices (..., 3), one per attribute (as ``igm_lite.product_sets([2, 2, 2])`` lists
    them) -> attributes (..., 3) in {0, 1}: slot 2a means attribute a is present."""
    slots = torch.as_tensor(slots).long()
    expected = 2 * torch.arange(len(ATTRIBUTES))
    if slots.shape[-1] != len(ATTRIBUTES) or not ((slots - expected) // 2 == 0).all():
        raise ValueError(f"expected one slot per attribute, in (2a, 2a + 1) for a = 0, 1, 2; got {slots.tolist()}")
    return (slots == expected).long()
