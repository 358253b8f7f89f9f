"""Checks for the chapters' coding exercises: each tests a reader's function on random inputs against the
library and says what is wrong, without printing the answer. Each returns True on success, False when
the exercise is not attempted yet (the function raises NotImplementedError), and raises AssertionError
with a hint otherwise."""
from __future__ import annotations

import torch

from .compose import combine
from .data.toy2d import StripeWorld
from .infer.discrete import staged_elimination
from .metrics import match_positions
from .schedule import NoiseSamples


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


def check_choose_k(fn, trials: int = 10, seed: int = 0) -> bool:
    """Chapter 2: ``fn(errors (K_max, N)) -> (k, se)``. Row K - 1 holds the error of the best K-object answer at each of
    N noise samples shared by every K. ``k`` is the number of objects with the least mean error (1-based), ``se`` the
    standard error of the mean difference between the runner-up K and k (see the exercise)."""
    g = torch.Generator().manual_seed(seed)
    for i in range(trials):
        k_max, n = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(4, 33, (1,), generator=g))
        shared = torch.rand(n, generator=g, dtype=torch.float64) * 0.5  # what every K sees: the noise sample's difficulty
        errors = shared + torch.rand(k_max, 1, generator=g, dtype=torch.float64) * 0.01 + 0.002 * torch.rand(k_max, n, generator=g, dtype=torch.float64)
        ok, got = _attempt(fn, errors.clone())
        if not ok:
            return False
        mean = errors.mean(1)
        first, second = mean.argsort()[:2].tolist()
        want_k, want_se = first + 1, float((errors[second] - errors[first]).std() / n**0.5)
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (k, se)"
        if int(got[0]) != want_k:
            raise AssertionError(f"trial {i}: wrong k {int(got[0])}; hint: " + ("rows are K = 1, 2, ...: k is 1-based" if int(got[0]) == want_k - 1
                                                                              else "the least MEAN error over the samples"))
        if abs(float(got[1]) - want_se) > 1e-6 * max(1.0, want_se) + 1e-12:
            naive = float((errors[first].var() / n + errors[second].var() / n).sqrt())
            hint = "pair the samples: the standard deviation of the differences, not of each row" if abs(float(got[1]) - naive) < 1e-9 \
                else "the runner-up is the K with the second-least mean error; std is unbiased (n - 1)"
            raise AssertionError(f"trial {i}: wrong standard error {float(got[1]):.3g}; hint: {hint}")
    print("Correct: your K is the least-error one, and your standard error uses the shared noise.")
    return True


class _TableScorer:
    """A stand-in for ``CachedScorer`` whose per-sample errors come from a table (N, S): ``add`` takes the next
    samples, ``errors`` averages each set's column over the samples added so far."""

    def __init__(self, table: torch.Tensor):
        self.table, self.n = table, 0

    def add(self, samples, candidates=None):
        self.n += len(samples)

    def errors(self, sets: torch.Tensor) -> torch.Tensor:
        return self.table[: self.n, sets[:, 0]].mean(0)


def check_elimination(fn, trials: int = 10, seed: int = 0) -> bool:
    """Chapter 3: ``fn(errors (N, S), schedule) -> int``. ``errors[n, s]`` is configuration s's error at noise sample n
    alone; ``schedule`` a list of (samples used so far, configurations kept). The answer is the configuration staged
    elimination chooses (``igm_lite.infer.discrete.staged_elimination``): at each stage the surviving configurations
    are ranked by their mean error over the samples so far and the best ``kept`` survive."""
    g = torch.Generator().manual_seed(seed)
    for i in range(trials):
        n, s = 16, 8
        table = torch.rand(n, s, generator=g) + torch.linspace(0, 0.3, s)[torch.randperm(s, generator=g)]
        n1 = int(torch.randint(1, 8, (1,), generator=g))
        schedule = [(n1, int(torch.randint(2, 5, (1,), generator=g))), (n, 1)]
        ok, got = _attempt(fn, table.clone(), list(schedule))
        if not ok:
            return False
        samples = NoiseSamples(torch.arange(n), torch.zeros(n, 1))
        want = staged_elimination(_TableScorer(table), samples, torch.arange(s).view(-1, 1), schedule)[0]
        if got is None or int(got) != int(want[0]):
            if got is None:
                hint = "return the chosen configuration's index (an int)"
            elif int(got) == int(table.mean(0).argmin()):
                hint = "that is the best configuration on ALL samples: the first stage only looks at the first samples"
            else:
                hint = "the second stage ranks the survivors by their mean over all samples so far, not the new ones"
            raise AssertionError(f"trial {i}, schedule {schedule}: expected another configuration than {got}; hint: {hint}")
    print("Correct: your elimination chooses what igm_lite's staged elimination chooses.")
    return True


def check_dc_from_cache(fn, trials: int = 5, seed: int = 0) -> bool:
    """Chapter 4: ``fn(gram (M + 2, M + 2), k) -> (k,)`` the Diffusion Classifier top-K answer from the cache laid out as
    ``igm_lite.CachedScorer`` lays it out (index 0 the target noise, 1 the empty prompt, 2 + m prompt m): the k prompts
    whose predictions ALONE have the least denoising error, as sorted prompt indices (``ZeroShot.compare``'s ``dc``)."""
    g = torch.Generator().manual_seed(seed)
    for i in range(trials):
        M, d, k = 7, 50, int(torch.randint(1, 4, (1,), generator=g))
        V = torch.randn(M + 2, d, generator=g, dtype=torch.float64)
        ok, got = _attempt(fn, V @ V.T / d, k)
        if not ok:
            return False
        alone = (V[:1] - V[2:]).pow(2).mean(1)  # each prompt's error alone, from the predictions themselves
        want = alone.argsort()[:k].sort().values
        got_t = None if got is None else torch.as_tensor(got).long().flatten()
        if got_t is None or not torch.equal(got_t, want):
            hint = ("indices of prompts start at 0 (the Gram matrix's index 2)" if got_t is not None and torch.equal(got_t - 2, want)
                    else "expand one prompt's squared error ||eps - e_m||^2 in inner products; the k least, sorted")
            raise AssertionError(f"trial {i} (k = {k}): wrong prompts {None if got_t is None else got_t.tolist()}; hint: {hint}")
    print("Correct: your top-K matches Diffusion Classifier's answer from the same cache.")
    return True
