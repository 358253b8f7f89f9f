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


def match_positions(pred, truth):
    """Hungarian matching of predicted positions (P, 2) to true ones (T, 2) by squared distance
    (scipy's ``linear_sum_assignment``). Returns (pred indices, truth indices, per-pair MSE (min(P, T),)),
    the MSE being the mean over the 2 coordinates, as the paper's perception criterion."""
    from scipy.optimize import linear_sum_assignment

    p, t = torch.as_tensor(pred, dtype=torch.float64).reshape(-1, 2), torch.as_tensor(truth, dtype=torch.float64).reshape(-1, 2)
    cost = ((p[:, None] - t[None]) ** 2).mean(-1)
    rows, cols = linear_sum_assignment(cost.numpy())
    return rows, cols, cost[rows, cols]


def position_metrics(preds, truths, threshold: float = 0.002) -> dict:
    """The object-discovery metrics over a test set of scenes (lists of (P_i, 2) and (T_i, 2) positions):

    - ``perception_rate``: the share of true objects matched (Hungarian) to a prediction whose mean
      squared coordinate error is below ``threshold`` (0.002, the paper's);
    - ``estimation_error``: the mean squared coordinate error over all matched pairs;
    - ``k_accuracy``: the share of scenes whose number of predicted objects is right.
    Extra predictions do not lower the perception rate; ``k_accuracy`` counts them."""
    if len(preds) != len(truths) or not truths:
        raise ValueError(f"need one prediction per scene and at least one scene, got {len(preds)} and {len(truths)}")
    hits = objects = 0
    errs, right_k = [], 0
    for p, t in zip(preds, truths):
        _, _, mse = match_positions(p, t)
        hits += int((mse < threshold).sum())
        objects += len(torch.as_tensor(t).reshape(-1, 2))
        errs.append(mse)
        right_k += len(torch.as_tensor(p).reshape(-1, 2)) == len(torch.as_tensor(t).reshape(-1, 2))
    errs = torch.cat(errs)
    return {"perception_rate": hits / objects, "estimation_error": float(errs.mean()) if len(errs) else float("nan"),
            "k_accuracy": right_k / len(truths)}


def attribute_scores(pred: torch.Tensor, truth: torch.Tensor, names=None) -> dict:
    """Accuracy with all attributes right, and per attribute: pred and truth (B, A) in {0, 1}; ``names`` the
    attributes' names (default: the faces' ``ATTRIBUTES``)."""
    from .data.faces import ATTRIBUTES

    right = (pred.cpu() == truth.cpu()).float()
    return {"accuracy": float(right.prod(1).mean()), "per_attribute": {a: float(right[:, i].mean()) for i, a in enumerate(names or ATTRIBUTES)}}


def same_decisions(a, b) -> float:
    """The share of images whose answers agree: a, b (N, ...) tensors (all entries alike) or lists of answers."""
    if hasattr(a, "shape"):
        return round(float((a == b).reshape(len(a), -1).all(1).float().mean()), 4)
    return round(sum(x == y for x, y in zip(a, b)) / max(len(a), 1), 4)
