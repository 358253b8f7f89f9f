"""Checks for the chapters' coding exercises: each tests a reader's function on random inputs against the
library and says what is wrong, without printing the answer. Each returns True on success, False when
the exercise is not attempted yet (the function raises NotImplementedError), and raises AssertionError
with a hint otherwise."""
from __future__ import annotations

import torch

from .compose import combine
from .data.toy2d import StripeWorld


def _attempt(fn, *args):
    try:
        return True, fn(*args)
    except NotImplementedError:
        print("Not attempted yet: replace the `raise NotImplementedError` with your code.")
        return False, None


def check_weighted_composition(fn, trials: int = 5, seed: int = 0) -> bool:
    """Chapter 1: ``fn(eps_u (B, d), eps_k (B, K, d), mask (B, K), w) -> (B, d)`` must compute
    eps_u + w * sum_k mask_k (eps_k - eps_u)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        B, K, d = 4, int(torch.randint(1, 5, (1,), generator=g)), 2
        eps_u, eps_k = torch.randn(B, d, generator=g), torch.randn(B, K, d, generator=g)
        mask = torch.rand(B, K, generator=g) < 0.7
        mask[:, 0] = True
        w = float(torch.rand(1, generator=g) * 3)
        ok, got = _attempt(fn, eps_u, eps_k, mask, w)
        if not ok:
            return False
        want = combine(eps_k, mask, eps_u, "weighted", w)
        assert got is not None and tuple(got.shape) == (B, d), f"expected shape {(B, d)}, got {None if got is None else tuple(got.shape)}"
        if not torch.allclose(got, want, atol=1e-5):
            K_act = mask.sum(1)
            hint = "masked-out slots must not count" if (K_act < K).any() else "check the coefficient of eps_u"
            raise AssertionError(f"wrong composition (max error {float((got - want).abs().max()):.3g}); hint: {hint}")
    print("Correct: your composition matches igm_lite.compose.combine(..., mode='weighted').")
    return True


def check_product_of_experts(fn, seed: int = 0) -> bool:
    """Chapter 1: ``fn(means (K, 2), precisions (K, 2, 2)) -> (mean (2,), cov (2, 2))`` of the normalised
    product of the Gaussian experts N(means[k], precisions[k]^-1)."""
    world = StripeWorld()
    g = torch.Generator().manual_seed(seed)
    for k in (1, 2, 3):
        scenes = world.scenes(k)
        scene = scenes[int(torch.randint(len(scenes), (1,), generator=g))]
        idx = list(scene)
        ok, got = _attempt(fn, world.mean[idx].clone(), world.precision[idx].clone())
        if not ok:
            return False
        mean, cov = world.product(scene)
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (mean, cov)"
        if not torch.allclose(got[1], cov, atol=1e-4):
            raise AssertionError(f"covariance wrong for {k} expert(s); hint: precisions add")
        if not torch.allclose(got[0], mean, atol=1e-4):
            raise AssertionError(f"mean wrong for {k} expert(s); hint: weight each mean by its precision")
    print("Correct: your product matches StripeWorld.product for 1, 2 and 3 experts.")
    return True


def _check_gram_error(fn, M: int, composed, hint, what: str, trials: int, seed: int) -> bool:
    """Shared by the cache exercises: random predictions V (index 0 the noise, 1 the null prediction,
    2 + m candidate m), their Gram matrix, and ``fn(gram, set)`` against ``composed(V, set)`` computed
    from the predictions themselves. ``hint(K)`` says what to look at when the answer is wrong."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        K, d = int(torch.randint(1, 4, (1,), generator=g)), 50
        V = torch.randn(M + 2, d, generator=g, dtype=torch.float64)
        gram = V @ V.T / d
        chosen = torch.randperm(M, generator=g)[:K]
        ok, got = _attempt(fn, gram.clone(), chosen.clone())
        if not ok:
            return False
        want = float((V[0] - composed(V, chosen)).pow(2).mean())
        assert got is not None, "your function returned None"
        if abs(float(got) - want) > 1e-5 * max(1.0, abs(want)):
            raise AssertionError(f"wrong error {float(got):.5g} (K = {K}); hint: {hint(K)}")
    print(f"Correct: your error matches the {what} error computed from the predictions themselves.")
    return True


def check_mean_config_error(fn, trials: int = 5, seed: int = 0) -> bool:
    """Chapter 3: ``fn(gram (M + 2, M + 2), config (K,) pool indices) -> float`` must return the denoising
    error of the mean composition of the configuration's concepts from the cached Gram matrix, laid out as
    ``igm_lite.CachedScorer`` lays it out: index 0 the target noise, 1 the null concept (unused by the
    mean), 2 + m candidate m."""
    return _check_gram_error(
        fn, 6, lambda V, c: V[2 + c].mean(0),
        lambda K: "the mean has coefficient 1/K on each concept" if K > 1 else "expand ||eps - e_m||^2 into three Gram entries",
        "mean composition's", trials, seed)


def check_weighted_set_error(fn, trials: int = 5, seed: int = 0) -> bool:
    """Chapter 4: ``fn(gram (M + 2, M + 2), prompts (K,) pool indices) -> float`` must return the denoising
    error of the sum-of-differences composition eps_u + sum_k (e_k - eps_u) of the prompts, from the Gram
    matrix laid out as ``igm_lite.CachedScorer`` lays it out: index 0 the target noise, 1 the empty
    prompt's prediction eps_u, 2 + m prompt m."""
    return _check_gram_error(
        fn, 7, lambda V, p: V[1] + (V[2 + p] - V[1]).sum(0),
        lambda K: "eps_u appears with coefficient 1 - K" if K > 1 else "with one prompt the composition is that prompt's prediction",
        "sum-of-differences composition's", trials, seed)


def check_perception(fn, trials: int = 20, seed: int = 0) -> bool:
    """Chapter 2: ``fn(pred (P, 2), truth (T, 2), threshold) -> int``, the number of true objects that the
    Hungarian matching (on the mean squared coordinate error) pairs with a prediction closer than
    ``threshold``; checked against ``igm_lite.metrics.match_positions`` on random scenes, including
    scenes with more or fewer predictions than objects and near-ties that a greedy matching gets wrong."""
    from .metrics import match_positions

    g = torch.Generator().manual_seed(seed)
    for i in range(trials):
        T = int(torch.randint(1, 8, (1,), generator=g))
        truth = torch.rand(T, 2, generator=g)
        P = max(0, T + int(torch.randint(-2, 3, (1,), generator=g)))
        pred = truth[torch.randperm(T, generator=g)][:P] + 0.04 * torch.randn(min(P, T), 2, generator=g)
        pred = torch.cat([pred, torch.rand(P - len(pred), 2, generator=g)]) if P > T else pred
        threshold = float(torch.rand(1, generator=g)) * 0.004
        ok, got = _attempt(fn, pred.clone(), truth.clone(), threshold)
        if not ok:
            return False
        _, _, mse = match_positions(pred, truth)
        want = int((mse < threshold).sum())
        if got is None or int(got) != want:
            hint = "match by the Hungarian algorithm (one prediction per object), not by nearest neighbours" if P else \
                "with no prediction nothing is perceived"
            raise AssertionError(f"scene {i}: {P} predictions, {T} objects: expected another count than {got}; hint: {hint}")
    print("Correct: your count matches igm_lite.metrics.position_metrics' perception criterion.")
    return True
