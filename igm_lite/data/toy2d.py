"""A 2-D world of "stripe" concepts whose compositions have closed forms (chapter 1).

Each concept k is a Gaussian expert: a long, thin stripe in the plane with energy

    E_k(x) = 1/2 (x - mu_k)^T Lambda_k (x - mu_k),   p_k(x) ∝ exp(-E_k(x)),

where the stripe runs along d_k, sits at signed offset o_k along its normal n_k (mu_k = o_k n_k), and
Lambda_k = n_k n_k^T / w^2 + d_k d_k^T / l^2 (width w, length l). A scene is a set S of concepts and its
density is the product of experts, i.e. the sum of energies:

    p(x | S) ∝ prod_{k in S} p_k(x) = exp(-sum_{k in S} E_k(x))                       (product of experts)

which is again Gaussian: Lambda_S = sum_k Lambda_k, mu_S = Lambda_S^{-1} sum_k Lambda_k mu_k. Noising keeps
it Gaussian, x_t ~ N(sqrt(abar) mu_S, abar Sigma_S + (1 - abar) I), so the ideal denoiser of every scene
at every noise level is known exactly: a ground truth to check learned models against.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from .base import Batch, one_hot_sets


@dataclass
class StripeWorld:
    """Stripe concepts: every direction in ``angles_deg`` at every offset in ``offsets``.

    Args:
        angles_deg: directions of the stripes' normals, in degrees.
        offsets: signed distances of the stripes from the origin.
        width: w, the standard deviation across a stripe.
        length: l, the standard deviation along a stripe.
        k_max: concepts per scene at most (the padding of the concept tensors).
    """

    angles_deg: tuple = (0.0, 60.0, 120.0)
    offsets: tuple = (-1.0, 1.0)
    width: float = 0.3
    length: float = 2.5
    k_max: int = 3

    def __post_init__(self):
        normals, means, direction = [], [], []
        for i, a in enumerate(self.angles_deg):
            n = torch.tensor([math.cos(math.radians(a)), math.sin(math.radians(a))])
            for o in self.offsets:
                normals.append(n)
                means.append(o * n)
                direction.append(i)
        self.normal = torch.stack(normals)  # (M, 2)
        self.mean = torch.stack(means)  # (M, 2)
        self.direction = torch.tensor(direction)  # (M,) index of each concept's direction
        along = torch.stack([-self.normal[:, 1], self.normal[:, 0]], 1)
        outer = lambda v: v.unsqueeze(2) * v.unsqueeze(1)  # noqa: E731
        self.precision = outer(self.normal) / self.width**2 + outer(along) / self.length**2  # (M, 2, 2)

    @property
    def num_concepts(self) -> int:
        return self.mean.shape[0]

    def names(self) -> list[str]:
        return [f"{a:g}°{o:+g}" for a in self.angles_deg for o in self.offsets]

    def scenes(self, k: int) -> list[tuple[int, ...]]:
        """Every scene of k concepts with pairwise different directions (so products are bounded blobs)."""
        return [s for s in itertools.combinations(range(self.num_concepts), k) if len(set(self.direction[list(s)].tolist())) == k]

    # -- closed forms ---------------------------------------------------------------------------
    def product(self, scene) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (2,) and covariance (2, 2) of p(x | scene), the normalised product of its experts."""
        idx = list(scene)
        lam = self.precision[idx].sum(0)
        cov = torch.linalg.inv(lam)
        mean = cov @ torch.einsum("kij,kj->i", self.precision[idx], self.mean[idx])
        return mean, cov

    def energy(self, x: torch.Tensor, scene, weights=None) -> torch.Tensor:
        """sum_k w_k E_k(x) for x (..., 2): the energy of the (weighted) product of experts."""
        idx = list(scene)
        w = torch.ones(len(idx)) if weights is None else torch.as_tensor(weights, dtype=x.dtype)
        d = x.unsqueeze(-2) - self.mean[idx]  # (..., K, 2)
        e = 0.5 * torch.einsum("...ki,kij,...kj->...k", d, self.precision[idx], d)
        return (e * w).sum(-1)

    def score(self, x: torch.Tensor, scene) -> torch.Tensor:
        """grad_x log p(x | scene) = -sum_k Lambda_k (x - mu_k): a sum of per-expert scores."""
        idx = list(scene)
        return -torch.einsum("kij,...kj->...i", self.precision[idx], x.unsqueeze(-2) - self.mean[idx])

    def ideal_eps(self, x_t: torch.Tensor, abar: torch.Tensor, scene) -> torch.Tensor:
        """The exact noise prediction E[eps | x_t] for a scene: x_t (..., 2), abar broadcastable to x_t[..., 0].

        eps*(x_t) = -sqrt(1 - abar) grad log p_t(x_t) = sqrt(1 - abar) C^{-1} (x_t - sqrt(abar) mu),
        C = abar Sigma + (1 - abar) I.
        """
        mean, cov = self.product(scene)
        abar = torch.as_tensor(abar, dtype=x_t.dtype).unsqueeze(-1).unsqueeze(-1)
        C = abar * cov + (1 - abar) * torch.eye(2)
        r = x_t - abar.squeeze(-1).sqrt() * mean
        return (1 - abar.squeeze(-1)).sqrt() * torch.linalg.solve(C, r.unsqueeze(-1)).squeeze(-1)

    def _moments(self, scene):
        """Cached (mean, Cholesky factor of the covariance) of a scene."""
        cache = self.__dict__.setdefault("_moment_cache", {})
        if scene not in cache:
            mean, cov = self.product(scene)
            cache[scene] = (mean, torch.linalg.cholesky(cov))
        return cache[scene]

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, scene, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points (n, 2) from p(x | scene)."""
        mean, cov = self.product(scene)
        z = torch.randn(n, 2, generator=generator)
        return mean + z @ torch.linalg.cholesky(cov).T

    def concepts_of(self, scenes) -> tuple[torch.Tensor, torch.Tensor]:
        """One-hot concepts (B, k_max, M) and mask (B, k_max) for a list of scenes."""
        return one_hot_sets([list(s) for s in scenes], self.num_concepts, self.k_max)

    def batch(self, n: int, ks=(1, 2), generator: torch.Generator | None = None) -> Batch:
        """n points, each from a scene drawn uniformly among the scenes of a size drawn from ``ks``.

        ``ks=(1,)`` trains each expert alone (independent training); ``ks=(1, 2)`` trains the
        composition on scenes of one and two concepts (joint training, as the paper trains its compositions).
        """
        pools = [self.scenes(k) for k in ks]
        sizes = torch.randint(len(ks), (n,), generator=generator).tolist()
        picks = torch.rand(n, generator=generator).tolist()
        scenes = [pools[s][int(u * len(pools[s]))] for s, u in zip(sizes, picks)]
        mean, chol = zip(*(self._moments(s) for s in scenes))
        z = torch.randn(n, 2, generator=generator)
        x = torch.stack(mean) + torch.einsum("nij,nj->ni", torch.stack(chol), z)
        concepts, mask = self.concepts_of(scenes)
        return Batch(x, concepts, mask, {"scenes": scenes})

    def cloud(self, scene, n_points: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """An observation for inverse inference: n_points (n_points, 2) from one scene."""
        return self.sample(scene, n_points, generator)
