"""Metrics the chapters report."""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg


def set_accuracy(predicted, truth) -> float:
    """Share of scenes whose predicted set of concept indices equals the true set exactly
    (so the number of concepts must be right too). Both are lists of index collections."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} scenes")
    if not truth:
        raise ValueError("no scenes to score")
    same = [set(map(int, p)) == set(map(int, t)) for p, t in zip(predicted, truth)]
    return float(np.mean(same))


def frechet_gaussian(samples: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> float:
    """Squared 2-Wasserstein (Frechet) distance between the Gaussian fitted to ``samples`` (n, d) and
    N(mean, cov):  ||m - mean||^2 + tr(S + cov - 2 (S^{1/2} cov S^{1/2})^{1/2}).  FID is this on features."""
    x = samples.detach().double().cpu().numpy()
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (n >= 2, d), got {x.shape}")
    m, S = x.mean(0), np.cov(x, rowvar=False)
    mu, C = mean.double().cpu().numpy(), cov.double().cpu().numpy()
    rS = linalg.sqrtm(S)
    cross = linalg.sqrtm(rS @ C @ rS)
    return float(np.sum((m - mu) ** 2) + np.trace(S + C - 2 * np.real(cross)))


def gaussian_kl(samples: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> float:
    """KL( N(m, S) || N(mean, cov) ) where (m, S) are the moments of ``samples`` (n, d): how far a model's
    samples are from the true Gaussian, in nats, whatever the scale of the distribution.

        KL = 1/2 [ tr(cov^-1 S) + (mean - m)^T cov^-1 (mean - m) - d + ln(det cov / det S) ]
    """
    x = samples.detach().double().cpu()
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (n >= 2, d), got {tuple(x.shape)}")
    m, S = x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])
    mu, C = mean.double().cpu(), cov.double().cpu()
    Ci = torch.linalg.inv(C)
    d = mu - m
    kl = 0.5 * (torch.trace(Ci @ S) + d @ Ci @ d - x.shape[1] + torch.logdet(C) - torch.logdet(S))
    return float(kl)
