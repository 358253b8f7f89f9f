"""Metrics the chapters report."""
from __future__ import annotations

import numpy as np
import torch

from .data.attributes import ATTRIBUTES


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


def position_outcomes(preds, truths, threshold: float = 0.002) -> dict:
    """Per item, what ``position_metrics`` counts: ``found`` (one 0/1 per true object, scene by scene in order:
    matched to a prediction with MSE below ``threshold``), ``k_right`` (one 0/1 per scene: as many predictions as
    objects), ``k_error`` (one per scene: predictions minus objects, negative when objects were missed) and ``errors``
    (the matched pairs' MSEs). Two readers on the same scenes are compared by pairing these."""
    if len(preds) != len(truths) or not truths:
        raise ValueError(f"need one prediction per scene and at least one scene, got {len(preds)} and {len(truths)}")
    found, k_error, errs = [], [], []
    for p, t in zip(preds, truths):
        _, cols, mse = match_positions(p, t)
        t = torch.as_tensor(t).reshape(-1, 2)
        hit = torch.zeros(len(t), dtype=torch.bool)
        hit[torch.as_tensor(cols, dtype=torch.long)] = mse < threshold
        found += hit.tolist()
        k_error.append(len(torch.as_tensor(p).reshape(-1, 2)) - len(t))
        errs.append(mse)
    return {"found": found, "k_right": [e == 0 for e in k_error], "k_error": k_error, "errors": torch.cat(errs)}


def position_metrics(preds, truths, threshold: float = 0.002) -> dict:
    """The object-discovery metrics over a test set of scenes (lists of (P_i, 2) and (T_i, 2) positions):

    - ``perception_rate``: the share of true objects matched (Hungarian) to a prediction whose mean
      squared coordinate error is below ``threshold`` (0.002, the paper's);
    - ``estimation_error``: the mean squared coordinate error over all matched pairs;
    - ``k_accuracy``: the share of scenes whose number of predicted objects is right.
    Extra predictions do not lower the perception rate; ``k_accuracy`` counts them."""
    o = position_outcomes(preds, truths, threshold)
    errs = o["errors"]
    return {"perception_rate": sum(o["found"]) / len(o["found"]), "estimation_error": float(errs.mean()) if len(errs) else float("nan"),
            "k_accuracy": sum(o["k_right"]) / len(o["k_right"])}


def attribute_scores(pred: torch.Tensor, truth: torch.Tensor, names=None) -> dict:
    """Accuracy with all attributes right, and per attribute: pred and truth (B, A) in {0, 1}; ``names`` the
    attributes' names (default: the faces' ``ATTRIBUTES``)."""
    right = (pred.cpu() == truth.cpu()).float()
    return {"accuracy": float(right.prod(1).mean()), "per_attribute": {a: float(right[:, i].mean()) for i, a in enumerate(names or ATTRIBUTES)}}


def same_decisions(a, b) -> float:
    """The share of images whose answers agree: a, b (N, ...) tensors (all entries alike) or lists of answers."""
    if hasattr(a, "shape"):
        return round(float((a == b).reshape(len(a), -1).all(1).float().mean()), 4)
    return round(sum(x == y for x, y in zip(a, b)) / max(len(a), 1), 4)


# Uncertainty: every accuracy the book prints carries a 95% interval over its test items, and a comparison of two
# readers is their paired difference on the same items.
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson(right: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of an accuracy of ``right`` out of ``n`` items:

        (p + z^2 / 2n  -/+  z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n),   p = right / n

    It stays inside [0, 1] and is sound at 0% and 100%, where the normal interval collapses to a point."""
    right, n = int(right), int(n)
    if n < 1 or not 0 <= right <= n:
        raise ValueError(f"need 0 <= right <= n and n >= 1, got right={right}, n={n}")
    p = right / n
    centre = p + z * z / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = float((centre - half) / (1 + z * z / n)), float((centre + half) / (1 + z * z / n))
    return (0.0 if right == 0 else max(0.0, lo), 1.0 if right == n else min(1.0, hi))


def ci95(share: float, n: int) -> list[float]:
    """The Wilson 95% interval, rounded to 4 places, of a share of ``n`` items (right = round(share * n))."""
    return [round(v, 4) for v in wilson(round(share * n), n)]


def accuracy_ci(correct) -> dict:
    """``{"accuracy", "ci95": [lo, hi]}`` of per-item outcomes ``correct`` (N,) in {0, 1} (Wilson, rounded to 4 places)."""
    c = np.asarray(correct, dtype=bool).reshape(-1)
    return {"accuracy": round(float(c.mean()), 4), "ci95": ci95(float(c.mean()), len(c))}


def paired_difference(a, b, n_boot: int = 10_000, seed: int = 0) -> dict:
    """How much more often reader A is right than reader B on the SAME items: a, b (N,) in {0, 1}.

    Returns ``diff`` = mean(a) - mean(b), its 95% interval ``ci95`` (percentile bootstrap over items, resampling
    the pairs so that their correlation is kept; ``n_boot`` resamples, seeded), the discordant counts ``a_only``
    (A right, B wrong) and ``b_only``, and ``p_mcnemar``, the exact McNemar test's two-sided p-value (a binomial test
    of a_only out of a_only + b_only at 1/2). Where ``ci95`` contains 0 the two readers are not told apart."""
    from scipy.stats import binomtest

    a, b = np.asarray(a, dtype=bool).reshape(-1), np.asarray(b, dtype=bool).reshape(-1)
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"need the two readers' outcomes on the same (>= 1) items, got {len(a)} and {len(b)}")
    d = a.astype(float) - b.astype(float)
    idx = np.random.default_rng(seed).integers(0, len(d), size=(n_boot, len(d)))
    boot = d[idx].mean(1)
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    p = binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"diff": round(float(d.mean()), 4), "ci95": [round(float(np.quantile(boot, 0.025)), 4), round(float(np.quantile(boot, 0.975)), 4)],
            "a_only": a_only, "b_only": b_only, "p_mcnemar": round(float(p), 4)}


def bits(correct) -> str:
    """Per-item outcomes (N,) in {0, 1} as a string of '0' and '1' (how results files keep them, for pairing later)."""
    return "".join("1" if c else "0" for c in np.asarray(correct, dtype=bool).reshape(-1))


def unbits(text: str) -> np.ndarray:
    """The inverse of ``bits``."""
    if set(text) - {"0", "1"}:
        raise ValueError("expected a string of '0' and '1'")
    return np.frombuffer(text.encode(), dtype=np.uint8) == ord("1")
