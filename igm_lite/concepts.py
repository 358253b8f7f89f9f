"""Concepts: tensors ``(B, K, D)`` with a mask ``(B, K)``, their validation, and their encoder.

A scene with K concepts c^1..c^K is a row of ``concepts`` whose first entries are real concepts and
whose padded entries are switched off in ``mask``. A concept is a D-dimensional vector: a one-hot
label, an attribute code, a 2-D position, a text embedding. The *null concept* (the condition of the
unconditional prediction eps_u) is the zero vector, as in the official code, optionally learned.
"""
from __future__ import annotations

import torch
from torch import nn

from .data.base import one_hot_sets  # noqa: F401  (concepts of scenes given as index lists; data builds them)


def check_concepts(concepts: torch.Tensor, mask: torch.Tensor | None, dim: int | None = None):
    """Validate a concept batch and return ``(concepts, mask)`` with the mask as bool ``(B, K)``.

    Raises ``ValueError`` / ``TypeError`` with the expected form when the input is malformed:
    wrong rank or dtype, a concept size other than ``dim``, a mask of another shape, a scene with no
    active concept (K = 0), or non-finite values.
    """
    if not isinstance(concepts, torch.Tensor):
        raise TypeError(f"concepts must be a torch.Tensor of shape (B, K, D), got {type(concepts).__name__}")
    if concepts.dim() != 3:
        raise ValueError(f"concepts must have shape (B, K, D), got shape {tuple(concepts.shape)}")
    if not concepts.is_floating_point():
        raise TypeError(f"concepts must be a floating-point tensor, got dtype {concepts.dtype}")
    B, K, D = concepts.shape
    if K == 0:
        raise ValueError("concepts has K = 0 slots: every scene needs at least one concept")
    if dim is not None and D != dim:
        raise ValueError(f"concepts have D = {D} but the model expects concept_dim = {dim}")
    if mask is None:
        mask = torch.ones(B, K, dtype=torch.bool, device=concepts.device)
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor of shape (B, K) = {(B, K)}")
    if tuple(mask.shape) != (B, K):
        raise ValueError(f"mask must have shape (B, K) = {(B, K)} to match concepts, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        if mask.is_floating_point() and not torch.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must hold only 0/1 (or True/False) values")
        mask = mask.bool()
    empty = ~mask.any(dim=1)
    if empty.any():
        raise ValueError(f"scenes {empty.nonzero().flatten().tolist()} have no active concept (K = 0)")
    if not torch.isfinite(concepts[mask]).all():
        raise ValueError("concepts contain NaN or infinite values")
    return concepts, mask


class ConceptEncoder(nn.Module):
    """Maps a concept vector (N, D) to an embedding (N, E) that the backbone adds to its time embedding.

    ``kind="mlp"``: a two-layer MLP, as Composable Diffusion adds a projection of the position to the
    timestep embedding. ``kind="linear"``: a bias-free linear map initialised like an embedding table
    (N(0, 1) entries), so a one-hot concept looks up one embedding and a multi-hot caption sums them
    (an embedding bag); its large initial scale makes weak conditioning signals learn fast.
    ``learned_null`` makes the null concept a trained vector instead of zeros.
    """

    def __init__(self, concept_dim: int, embed_dim: int, hidden: int | None = None, learned_null: bool = False,
                 kind: str = "mlp"):
        super().__init__()
        hidden = hidden or embed_dim
        if kind == "mlp":
            self.net = nn.Sequential(nn.Linear(concept_dim, hidden), nn.SiLU(), nn.Linear(hidden, embed_dim))
        elif kind == "linear":
            self.net = nn.Linear(concept_dim, embed_dim, bias=False)
            nn.init.normal_(self.net.weight)
        else:
            raise ValueError(f"unknown concept encoder {kind!r}; expected 'mlp' or 'linear'")
        self.null = nn.Parameter(torch.zeros(concept_dim), requires_grad=learned_null)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return self.net(c)

    def null_concepts(self, n: int) -> torch.Tensor:
        """The null concept repeated n times: (n, D)."""
        return self.null.unsqueeze(0).expand(n, -1)
