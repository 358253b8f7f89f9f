"""Checks for the chapters' coding exercises: each tests a reader's function on random inputs against the
library and says what is wrong, without printing the answer. Each returns True on success, False when
the exercise is not attempted yet (the function raises NotImplementedError), and raises AssertionError
with a hint otherwise."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .compose import combine
from .data.toy2d import StripeWorld
from .infer.discrete import staged_elimination
from .metrics import match_positions
from .schedule import NoiseSamples, elbo_weights, make_scheduler


def _attempt(fn, *args):
    try:
        return True, fn(*args)
    except NotImplementedError:
        print("Not attempted yet: replace the `raise NotImplementedError` with your code.")
        return False, None

def _named_slip(hits: dict) -> str | None:
    """The hint of the one slip that the most wrong answers matched, or None when none matched or several tie."""
    best = max(hits.values())
    named = [h for h, count in hits.items() if count == best]
    return named[0] if best and len(named) == 1 else None


def _verdict(wrong: list, hits: dict, fallback: str, count: str, correct: str) -> bool:
    """A checker's last step: with anything ``wrong``, an AssertionError naming the first, how many (``count``, e.g.
    "of 6 products wrong") and the hint of the slip the answers matched (else ``fallback``); otherwise the line
    "Correct: ``correct``", and True."""
    if wrong:
        raise AssertionError(f"{wrong[0]} ({len(wrong)} {count}); hint: {_named_slip(hits) or fallback}")
    print(f"Correct: {correct}")
    return True



def check_weighted_composition(fn, trials: int = 5, seed: int = 0) -> bool:
    """Chapter 1: ``fn(eps_u (B, d), eps_k (B, K, d), mask (B, K), w) -> (B, d)`` must compute
    eps_u + w * sum_k mask_k (eps_k - eps_u). Every batch has masked-out slots and a weight away from 0 and 1, so
    that each typical slip changes the answer; the hint names the slip the answer matches."""
    g = torch.Generator().manual_seed(seed)
    slips = {
        "masked-out slots must not count": lambda u, e, m, w: combine(e, torch.ones_like(m), u, "weighted", w),
        "the weight scales the concepts' differences only, not the unconditional prediction":
            lambda u, e, m, w: w * combine(e, m, u, "weighted", 1.0),
        "the composition starts from the unconditional prediction; yours leaves it out":
            lambda u, e, m, w: combine(e, m, u, "weighted", w) - u,
        "you averaged over the active concepts": lambda u, e, m, w: u + w * ((e - u.unsqueeze(1)) * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True),
        "you added the concepts' predictions, not their differences from the unconditional one":
            lambda u, e, m, w: u + w * (e * m.unsqueeze(-1)).sum(1),
    }
    seen, wrong = {h: [] for h in slips}, 0
    for i in range(trials):
        B, K, d = 4, 2 + i % 3, 2
        eps_u, eps_k = torch.randn(B, d, generator=g), torch.randn(B, K, d, generator=g)
        mask = torch.rand(B, K, generator=g) < 0.6
        mask[:, 0], mask[0, -1], mask[1, -1] = True, False, True  # every row a concept; masked-out slots; rows of 1 and of 2+
        w = 0.3 + float(torch.rand(1, generator=g)) * 2.0
        w = w + 0.5 if abs(w - 1.0) < 0.2 else w
        ok, got = _attempt(fn, eps_u.clone(), eps_k.clone(), mask.clone(), w)
        if not ok:
            return False
        want = combine(eps_k, mask, eps_u, "weighted", w)
        assert got is not None and tuple(got.shape) == (B, d), f"expected shape {(B, d)}, got {None if got is None else tuple(got.shape)}"
        for hint, slip in slips.items():
            seen[hint].append(float((slip(eps_u, eps_k, mask, w) - got).abs().max()) < 1e-5)
        wrong += not torch.allclose(got, want, atol=1e-5)
    if wrong:
        hits = {h: sum(v) for h, v in seen.items()}
        hint = _named_slip(hits) or "compare your composition with the chapter's equation term by term"
        raise AssertionError(f"wrong composition on {wrong} of {trials} batches; hint: {hint}")
    print("Correct: your composition matches igm_lite.compose.combine(..., mode='weighted').")
    return True


def check_product_of_experts(fn, seed: int = 0) -> bool:
    """Chapter 1: ``fn(means (K, 2), precisions (K, 2, 2)) -> (mean (2,), cov (2, 2))`` of the normalised
    product of the Gaussian experts N(means[k], precisions[k]^-1), for 1, 2 and 3 experts (twice each)."""
    world = StripeWorld()
    g = torch.Generator().manual_seed(seed)
    inv = torch.linalg.inv
    slips = {  # what each typical slip returns: (mean, cov)
        "you added the experts' covariances": lambda m, P: (None, inv(P).sum(0)),
        "you averaged the experts' precisions": lambda m, P: (None, inv(P.mean(0))),
        "you returned the product's precision, not its covariance": lambda m, P: (None, P.sum(0)),
        "your mean does not depend on how sure each expert is": lambda m, P: (m.mean(0), None),
        "you weighted each expert's mean by its covariance": lambda m, P: (inv(inv(P).sum(0)) @ torch.einsum("kij,kj->i", inv(P), m), None),
    }
    hits, wrong = {h: 0 for h in slips}, []
    for k in (1, 2, 3, 2, 3, 2):
        scenes = world.scenes(k)
        scene = scenes[int(torch.randint(len(scenes), (1,), generator=g))]
        idx = list(scene)
        means, precisions = world.mean[idx].clone(), world.precision[idx].clone()
        ok, got = _attempt(fn, means.clone(), precisions.clone())
        if not ok:
            return False
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (mean, cov)"
        mean, cov = world.product(scene)
        for hint, slip in slips.items():
            m_s, c_s = slip(means, precisions)
            hits[hint] += bool((c_s is not None and torch.allclose(torch.as_tensor(got[1]).float(), c_s.float(), atol=1e-4)) or
                               (m_s is not None and torch.allclose(torch.as_tensor(got[0]).float(), m_s.float(), atol=1e-4)))
        if not torch.allclose(got[1], cov, atol=1e-4):
            wrong.append(f"covariance wrong for {k} experts")
        elif not torch.allclose(got[0], mean, atol=1e-4):
            wrong.append(f"mean wrong for {k} experts")
    return _verdict(wrong, hits, "write the product of two Gaussian densities and collect the terms in x", "of 6 products wrong",
                    "your product matches StripeWorld.product for 1, 2 and 3 experts.")


def _slip_hint(slips: dict, tol: float = 1e-5) -> str | None:
    """``slips`` {hint: [(what the slip gives, what the reader gave) per trial]}: the hint of the slip that matches the
    reader on the most trials, if one slip matches more than any other; None otherwise."""
    matches = {}
    for hint, per_trial in slips.items():
        matches[hint] = sum(abs(a - b) <= tol * max(1.0, abs(a)) for a, b in per_trial)
    best = max(matches.values(), default=0)
    hints = [h for h, m in matches.items() if m == best]
    return hints[0] if best and len(hints) == 1 else None


def _check_gram_error(fn, M: int, composed, slips: dict, what: str, trials: int, seed: int, fallback: str) -> bool:
    """Shared by the cache exercises: random predictions V (index 0 the noise, 1 the null prediction, 2 + m candidate
    m), their Gram matrix, and ``fn(gram, set)`` against ``composed(V, set)`` computed from the predictions themselves,
    on sets of 1, 2 and 3 candidates (each size at least once). ``slips`` {hint: slip(V, set) -> the error a typical
    mistake computes}: a wrong answer gets the hint of the slip it matches, else ``fallback``."""
    g = torch.Generator().manual_seed(seed)
    sizes = [1, 2, 3] + [int(k) for k in torch.randint(2, 4, (max(0, trials - 3),), generator=g)]
    seen, wrong = {h: [] for h in slips}, []
    for i, K in enumerate(sizes):
        d = 50
        V = torch.randn(M + 2, d, generator=g, dtype=torch.float64)
        gram = V @ V.T / d
        chosen = torch.randperm(M, generator=g)[:K]
        ok, got = _attempt(fn, gram.clone(), chosen.clone())
        if not ok:
            return False
        assert got is not None, "your function returned None; hint: return the error as a number"
        err = lambda e: float(e.pow(2).mean())  # noqa: E731
        want = err(V[0] - composed(V, chosen))
        for hint, slip in slips.items():
            seen[hint].append((slip(V, chosen, err), float(got)))
        if abs(float(got) - want) > 1e-5 * max(1.0, abs(want)):
            wrong.append((i, K, float(got)))
    if wrong:
        i, K, got = wrong[0]
        hint = _slip_hint(seen) or fallback
        raise AssertionError(f"{len(wrong)} of {len(sizes)} sets wrong (set {i}, K = {K}: error {got:.5g}); hint: {hint}")
    print(f"Correct: your error matches the {what} error computed from the predictions themselves.")
    return True


def check_mean_config_error(fn, trials: int = 6, seed: int = 0) -> bool:
    """Chapter 3: ``fn(gram (M + 2, M + 2), config (K,) pool indices) -> float`` must return the denoising
    error of the mean composition of the configuration's concepts from the cached Gram matrix, laid out as
    ``igm_lite.CachedScorer`` lays it out: index 0 the target noise, 1 the null concept (unused by the
    mean), 2 + m candidate m."""
    mean = lambda V, c: V[2 + c].mean(0)  # noqa: E731
    slips = {
        "your composition adds the concepts' predictions up; the face's composition does not grow with K":
            lambda V, c, err: err(V[0] - V[2 + c].sum(0)),
        "candidate m is not at index m of the Gram matrix (see the layout above)": lambda V, c, err: err(V[0] - V[c].mean(0)),
        "the null concept (index 1) is not part of the mean composition": lambda V, c, err: err(V[0] - torch.cat([V[1:2], V[2 + c]]).mean(0)),
        "your error misses the term that does not depend on the configuration":
            lambda V, c, err: err(V[0] - mean(V, c)) - err(V[0]),
        "in a squared norm each cross term between two different vectors appears twice":
            lambda V, c, err: err(V[0]) - float((V[0] * mean(V, c)).mean()) + err(mean(V, c)),
        "check the sign of the terms that pair the noise with a prediction": lambda V, c, err: err(V[0] + mean(V, c)),
        "two different concepts' predictions interact in the error: the terms between them are missing":
            lambda V, c, err: err(V[0]) - 2 * float((V[0] * mean(V, c)).mean()) + sum(err(V[2 + m]) for m in c) / len(c) ** 2,
        "the terms quadratic in the predictions carry another factor than those linear in them":
            lambda V, c, err: err(V[0]) - 2 * float((V[0] * mean(V, c)).mean()) + err(V[2 + c].sum(0)) / len(c),
        "the error is a squared distance, not a distance": lambda V, c, err: err(V[0] - mean(V, c)) ** 0.5,
    }
    return _check_gram_error(fn, 6, mean, slips, "mean composition's", trials, seed,
                             "expand ||eps - e||^2 into Gram entries, with e the configuration's composed prediction")


def check_weighted_set_error(fn, trials: int = 6, seed: int = 0) -> bool:
    """Chapter 4: ``fn(gram (M + 2, M + 2), prompts (K,) pool indices) -> float`` must return the denoising
    error of the sum-of-differences composition eps_u + sum_k (e_k - eps_u) of the prompts, from the Gram
    matrix laid out as ``igm_lite.CachedScorer`` lays it out: index 0 the target noise, 1 the empty
    prompt's prediction eps_u, 2 + m prompt m."""
    composed = lambda V, p: V[1] + (V[2 + p] - V[1]).sum(0)  # noqa: E731
    slips = {
        "you left the empty prompt's prediction out of the composition": lambda V, p, err: err(V[0] - V[2 + p].sum(0)),
        "you added the prompts' predictions, not their differences from the empty prompt's":
            lambda V, p, err: err(V[0] - V[1] - V[2 + p].sum(0)),
        "that is the mean composition (the empty prompt plus the MEAN of the differences), not the sum of differences":
            lambda V, p, err: err(V[0] - V[2 + p].mean(0)),
        "prompt m is not at index m of the Gram matrix (see the layout above)": lambda V, p, err: err(V[0] - V[1] - (V[p] - V[1]).sum(0)),
        "your error misses the term that does not depend on the prompts": lambda V, p, err: err(V[0] - composed(V, p)) - err(V[0]),
        "the error is a squared distance, not a distance": lambda V, p, err: err(V[0] - composed(V, p)) ** 0.5,
    }
    return _check_gram_error(fn, 7, composed, slips, "sum-of-differences composition's", trials, seed,
                             "write the composed prediction as a combination of the Gram matrix's vectors, then expand the squared norm")


def _perception_slips() -> dict:
    """The typical slips of the perception exercise: {hint: slip(pred, truth, threshold) -> count}."""
    def cost(pred, truth):  # (P, T) mean squared coordinate error (numpy: tiny arrays, many scenes)
        return ((np.asarray(pred, dtype=np.float64)[:, None] - np.asarray(truth, dtype=np.float64)[None]) ** 2).mean(-1)

    def greedy(pred, truth, threshold):
        c, count = cost(pred, truth), 0
        for _ in range(min(c.shape)):
            i, j = np.unravel_index(np.argmin(c), c.shape)
            count += bool(c[i, j] < threshold)
            c[i, :], c[:, j] = np.inf, np.inf
        return count

    return {  # each slip(pred, truth, threshold, mse of the Hungarian pairs) -> count
        "match by the Hungarian algorithm (one prediction per object), not by nearest neighbours":
            lambda p, t, th, mse: int((cost(p, t).min(0) < th).sum()) if len(p) else 0,
        "a greedy matching (the closest pair first) is not the Hungarian one": lambda p, t, th, mse: greedy(p, t, th),
        "the criterion is the MEAN squared coordinate error, not its sum over the coordinates": lambda p, t, th, mse: int((2 * mse < th).sum()),
        "compare the squared error itself with the threshold, not its root": lambda p, t, th, mse: int((mse.sqrt() < th).sum()),
    }


def check_perception(fn, trials: int = 20, seed: int = 0) -> bool:
    """Chapter 2: ``fn(pred (P, 2), truth (T, 2), threshold) -> int``, the number of true objects that the
    Hungarian matching (on the mean squared coordinate error) pairs with a prediction closer than
    ``threshold``; checked against ``igm_lite.metrics.match_positions`` on random scenes, including
    scenes with more or fewer predictions than objects and near-ties that a greedy matching gets wrong: at least
    ``trials`` scenes, and more until each typical slip has given another count than the right one."""
    g = torch.Generator().manual_seed(seed)
    slips = _perception_slips()
    hits, told, wrong = {h: 0 for h in slips}, set(), []
    for i in range(10 * trials):
        if i >= trials and len(told) == len(slips):
            break
        missing = [h for h in ("greedy", "nearest") if i >= trials - 1 and not any(h in t for t in told)]
        if missing:  # a scene that the slip gets wrong, at a random place and angle
            angle, origin = float(torch.rand(1, generator=g)) * 6.283, 0.2 + 0.6 * torch.rand(2, generator=g)
            rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
            if missing[0] == "greedy":  # two objects; the closest pair is the wrong one to keep
                truth, pred = torch.tensor([[0.0, 0.0], [0.08, 0.0]]), torch.tensor([[0.035, 0.0], [-0.04, 0.0]])
            else:  # one prediction between two objects, the other far away: it can be paired with one of them only
                truth, pred = torch.tensor([[0.0, 0.0], [0.05, 0.0]]), torch.tensor([[0.025, 0.0], [0.5, 0.3]])
            truth, pred = origin + truth @ rot.T, origin + pred @ rot.T
            T, P, threshold = 2, 2, 0.0012
        else:
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
        for hint, slip in slips.items():
            answer = slip(pred, truth, threshold, mse)
            told |= {hint} if answer != want else set()
            hits[hint] += got is not None and int(got) == answer
        if got is None or int(got) != want:
            wrong.append(f"scene {i}: {P} predictions, {T} objects: expected another count than {got}")
    none = bool(wrong) and "0 predictions" in wrong[0]
    return _verdict(wrong, hits, "with no prediction nothing is perceived" if none else
                    "pair each object with at most one prediction, then apply the criterion", "scenes wrong",
                    "your count matches igm_lite.metrics.position_metrics' perception criterion.")


def check_choose_k(fn, trials: int = 10, seed: int = 0) -> bool:
    """Chapter 2: ``fn(errors (K_max, N)) -> (k, se)``. Row K - 1 holds the error of the best K-object answer at each of
    N noise samples shared by every K. ``k`` is the number of objects with the least mean error (1-based), ``se`` the
    standard error of the mean difference between the runner-up K and k (see the exercise). The tables are drawn so
    that the runner-up is not always k's neighbour and each typical slip changes the answer."""
    g = torch.Generator().manual_seed(seed)
    slips = {  # (k, se) of each typical slip, from the mean errors' order (first, second) and the table
        "rows are K = 1, 2, ...: k is 1-based": lambda e, f, s: (f, None),
        "pair the samples: the runner-up and k share every noise sample": lambda e, f, s: (None, float((e[f].var() / e.shape[1] + e[s].var() / e.shape[1]).sqrt())),
        "the runner-up is the K with the second-least mean error, wherever it lies": lambda e, f, s: (None, float((e[f + 1 if f + 1 < len(e) else f - 1] - e[f]).std() / e.shape[1] ** 0.5)),
        "a standard error is that of a MEAN over the samples": lambda e, f, s: (None, float((e[s] - e[f]).std())),
        "the standard deviation of a sample divides by n - 1 (torch's default)": lambda e, f, s: (None, float((e[s] - e[f]).std(unbiased=False) / e.shape[1] ** 0.5)),
    }
    hits, wrong = {h: 0 for h in slips}, []
    for i in range(trials):
        while True:
            k_max, n = int(torch.randint(3, 9, (1,), generator=g)), int(torch.randint(4, 33, (1,), generator=g))
            shared = torch.rand(n, generator=g, dtype=torch.float64) * 0.5  # what every K sees: the noise sample's difficulty
            errors = shared + torch.rand(k_max, 1, generator=g, dtype=torch.float64) * 0.01 + 0.002 * torch.rand(k_max, n, generator=g, dtype=torch.float64)
            first, second = errors.mean(1).argsort()[:2].tolist()
            if i % 2 == 0 or abs(first - second) > 1:  # every other table: the runner-up is not k's neighbour
                break
        ok, got = _attempt(fn, errors.clone())
        if not ok:
            return False
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (k, se)"
        want_k, want_se = first + 1, float((errors[second] - errors[first]).std() / n**0.5)
        close = lambda a, b: a is not None and abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b))) + 1e-12  # noqa: E731
        for hint, slip in slips.items():
            k_s, se_s = slip(errors, first, second)
            hits[hint] += (k_s is not None and int(got[0]) == k_s) or close(se_s, got[1])
        if int(got[0]) != want_k:
            wrong.append(f"table {i}: wrong k {int(got[0])}")
        elif not close(got[1], want_se):
            wrong.append(f"table {i}: wrong standard error {float(got[1]):.3g}")
    return _verdict(wrong, hits, "the least MEAN error over the samples, and the samples are shared by every K", f"of {trials} tables wrong",
                    "your K is the least-error one, and your standard error uses the shared noise.")


class _TableScorer:
    """A stand-in for ``CachedScorer`` whose per-sample errors come from a table (N, S): ``add`` takes the next
    samples, ``errors`` averages each set's column over the samples added so far."""

    def __init__(self, table: torch.Tensor):
        self.table, self.n = table, 0

    def add(self, samples, candidates=None):
        self.n += len(samples)

    def errors(self, sets: torch.Tensor) -> torch.Tensor:
        return self.table[: self.n, sets[:, 0]].mean(0)


def _eliminate(table, schedule, upto=lambda n, done, stage: (0, n), keep=lambda k, stage: k, largest=False, stages=None) -> int:
    """Staged elimination on a table (N, S), with hooks that make the typical slips: which samples stage ``stage`` ranks
    by (``upto``), how many configurations it keeps (``keep``), from which end (``largest``), and how many stages run."""
    table = table.numpy() if isinstance(table, torch.Tensor) else table  # numpy: these tables are tiny and drawn by the thousand
    total = np.concatenate([np.zeros((1, table.shape[1])), table.cumsum(0)])  # total[n]: each column's sum over the first n samples
    alive, done = np.arange(table.shape[1]), 0
    for stage, (n, k) in enumerate(schedule[:stages]):
        lo, hi = upto(n, done, stage)
        lo, hi = max(lo, 0), min(max(hi, lo + 1, 1), table.shape[0])
        summed = total[hi, alive] - total[lo, alive]  # the same number of samples for every survivor
        alive = alive[np.argsort(-summed if largest else summed, kind="stable")[:max(1, keep(k, stage))]]
        done = n
    return int(alive[0])


def _elimination_slips() -> list[tuple[str, object]]:
    """The typical slips of the elimination exercise: (the hint a reader who made it gets, what it answers). A stage
    boundary off by one (at every stage, the first or the last) and one configuration too many or too few (at every
    stage or the first), ranking by a stage's new samples, the best on all samples, the worst kept, one stage only."""
    def on(where):
        return lambda stage, s: where == "every" or (where == "first" and stage == 0) or (where == "last" and stage == len(s) - 1)

    slips = []
    for step, word in ((1, "more"), (-1, "fewer")):
        for where in ("every", "first", "last")[: 3 if step < 0 else 2]:  # the last stage already has every sample
            slips.append((f"a stage looks at one sample {word} than the schedule says (it counts samples used so far, from the first)",
                          lambda t, s, at=on(where), step=step: _eliminate(t, s, upto=lambda n, done, stage: (0, n + step * at(stage, s)))))
        for where in ("every", "first"):
            slips.append((f"a stage keeps one configuration {word} than the schedule asks",
                          lambda t, s, at=on(where), step=step: _eliminate(t, s, keep=lambda k, stage: k + step * at(stage, s))))
    slips += [
        ("a later stage ranks by its new samples alone; a stage's ranking uses every sample so far",
         lambda t, s: _eliminate(t, s, upto=lambda n, done, stage: (done, n))),
        ("that is the best configuration on ALL samples: staged elimination never looks again at a configuration it dropped",
         lambda t, s: int(np.asarray(t)[: s[-1][0]].mean(0).argmin())),
        ("a stage keeps the configurations with the LARGEST errors", lambda t, s: _eliminate(t, s, largest=True)),
        ("the answer is decided by the first stage alone; the later stages decide among its survivors",
         lambda t, s: _eliminate(t, s, stages=1)),
    ]
    return slips


_ELIMINATION_SLIPS = _elimination_slips()


@functools.lru_cache(maxsize=256)
def _elimination_trials(seed: int, trials: int) -> list[tuple[torch.Tensor, list, list]]:
    """At least ``trials`` tables (16 samples, 8 configurations) and schedules of two and three stages on which, taken
    together, every typical slip gives another answer than the right one at least once: random tables near stage boundaries (samples
    that disagree about the ranking), each the draw that tells apart the most slips not yet told apart; with each table,
    every slip's answer on it."""
    g, n, s, out, caught = torch.Generator().manual_seed(seed), 16, 8, [], set()
    for i in range(4 * trials):  # ``trials`` tables, and more while some slip is not yet told apart
        if i >= trials and len(caught) == len(_ELIMINATION_SLIPS):
            break
        best, best_new = None, -1
        for draw in range(500):  # at least 20 draws, and on until one tells apart a slip not yet told apart
            if draw >= 20 and (best_new >= 1 or len(caught) == len(_ELIMINATION_SLIPS)):
                break
            shared = torch.rand(n, 1, generator=g) * 2  # what every configuration sees at a sample (its noise level)
            table = shared + torch.linspace(0, 0.4, s)[torch.randperm(s, generator=g)] + 0.6 * torch.rand(n, s, generator=g)
            stages = 2 + i % 2
            cuts = sorted(torch.randperm(n - 3, generator=g)[: stages - 1].add(2).tolist())
            kept = sorted(torch.randint(2, 5, (stages - 1,), generator=g).tolist(), reverse=True)
            schedule = [(c, k) for c, k in zip(cuts, kept)] + [(n, 1)]
            right, t = _eliminate(table, schedule), table.numpy()
            told = {i for i, (_, slip) in enumerate(_ELIMINATION_SLIPS) if slip(t, schedule) != right}
            new = len(told - caught) + (len(told) / 100 if len(caught) == len(_ELIMINATION_SLIPS) else 0)
            if new > best_new:
                best, best_new, best_told = (table, schedule), new, told
            if len(told) == len(_ELIMINATION_SLIPS):
                break
        out.append((*best, [slip(best[0].numpy(), best[1]) for _, slip in _ELIMINATION_SLIPS]))  # each slip's answer, kept
        caught |= best_told
    if len(caught) != len(_ELIMINATION_SLIPS):
        raise RuntimeError(f"the tables do not tell these slips apart: {[_ELIMINATION_SLIPS[i][0] for i in range(len(_ELIMINATION_SLIPS)) if i not in caught]}")
    return out


def check_elimination(fn, trials: int = 6, seed: int = 0) -> bool:
    """Chapter 3: ``fn(errors (N, S), schedule) -> int``. ``errors[n, s]`` is configuration s's error at noise sample n
    alone; ``schedule`` a list of (samples used so far, configurations kept). The answer is the configuration staged
    elimination chooses (``igm_lite.infer.discrete.staged_elimination``): at each stage the surviving configurations
    are ranked by their mean error over the samples so far and the best ``kept`` survive. Each table is drawn so that
    every typical slip (a stage boundary off by one, one configuration too many or too few kept, ranking by a stage's
    new samples only, ...) gives another answer than the right one; the hint names the slip the answer matches."""
    trials_, answers = _elimination_trials(seed, trials), []
    for i, (table, schedule, _) in enumerate(trials_):
        ok, got = _attempt(fn, table.clone(), list(schedule))
        if not ok:
            return False
        try:
            answers.append(int(got))
        except (TypeError, ValueError):
            raise AssertionError(f"trial {i}: got {got!r}; hint: return the chosen configuration's index (an int)") from None
    samples = NoiseSamples(torch.arange(16), torch.zeros(16, 1))
    wants = [int(staged_elimination(_TableScorer(t), samples, torch.arange(t.shape[1]).view(-1, 1), s)[0][0]) for t, s, _ in trials_]
    wrong = [i for i, (got, want) in enumerate(zip(answers, wants)) if got != want]
    if wrong:  # the slip whose answers are the reader's on the most tables names the hint
        matches = {}
        for j, (hint, _) in enumerate(_ELIMINATION_SLIPS):
            matches[hint] = max(matches.get(hint, 0), sum(slips[j] == got for (_, _, slips), got in zip(trials_, answers)))
        best = max(matches.values())
        hints = [h for h, m in matches.items() if m == best]
        hint = hints[0] if len(hints) == 1 and best > len(trials_) // 2 else "follow the schedule stage by stage on a small table by hand"
        i = wrong[0]
        raise AssertionError(f"{len(wrong)} of {len(trials_)} tables wrong (table {i}, schedule {trials_[i][1]}: expected another "
                             f"configuration than {answers[i]}); hint: {hint}")
    print("Correct: your elimination chooses what igm_lite's staged elimination chooses.")
    return True


def check_dc_from_cache(fn, trials: int = 6, seed: int = 0) -> bool:
    """Chapter 4: ``fn(gram (M + 2, M + 2), k) -> (k,)`` the Diffusion Classifier top-K answer from the cache laid out as
    ``igm_lite.CachedScorer`` lays it out (index 0 the target noise, 1 the empty prompt, 2 + m prompt m): the k prompts
    whose predictions ALONE have the least denoising error, as sorted prompt indices (``ZeroShot.compare``'s ``dc``).
    Each cache is drawn so that every typical slip gives another answer; the hint names the slip the answer matches."""
    g = torch.Generator().manual_seed(seed)
    slips = {  # each slip's answer from the prompts' errors alone (and their inner products with the noise)
        "prompt m is at index 2 + m of the Gram matrix, and its index is m": lambda alone, dot, k: alone.argsort()[:k].sort().values + 2,
        "return the prompts' indices in increasing order": lambda alone, dot, k: alone.argsort()[:k],
        "you kept the prompts with the LARGEST errors": lambda alone, dot, k: alone.argsort(descending=True)[:k].sort().values,
        "a prompt's error alone has a term of its own prediction's size: prompts differ in it": lambda alone, dot, k: dot.argsort(descending=True)[:k].sort().values,
    }
    hits, wrong = {h: 0 for h in slips}, []
    for i in range(trials):
        M, d, k = 7, 50, 1 + i % 3
        while True:
            V = torch.randn(M + 2, d, generator=g, dtype=torch.float64) * torch.rand(M + 2, 1, generator=g, dtype=torch.float64).add(0.5)
            alone = (V[:1] - V[2:]).pow(2).mean(1)  # each prompt's error alone, from the predictions themselves
            dot = (V[:1] * V[2:]).mean(1)
            want = alone.argsort()[:k].sort().values
            if all(not torch.equal(slip(alone, dot, k), want) for slip in slips.values()) or k == 1:
                break
        ok, got = _attempt(fn, V @ V.T / d, k)
        if not ok:
            return False
        got_t = None if got is None else torch.as_tensor(got).long().flatten()
        for hint, slip in slips.items():
            hits[hint] += got_t is not None and torch.equal(got_t, slip(alone, dot, k))
        if got_t is None or not torch.equal(got_t, want):
            wrong.append(f"trial {i} (k = {k}): wrong prompts {None if got_t is None else got_t.tolist()}")
    return _verdict(wrong, hits, "expand one prompt's squared error ||eps - e_m||^2 in inner products", f"of {trials} wrong",
                    "your top-K matches Diffusion Classifier's answer from the same cache.")


def check_elbo_weights(fn, trials: int = 4, seed: int = 0) -> bool:
    """Chapter 3b: ``fn(scheduler, t (n,) long) -> (n,)`` must return the variational bound's weight of each timestep's
    noise-prediction error, w_t = beta_t / (2 alpha_t (1 - alphabar_t)) (``igm_lite.schedule.elbo_weights``), from a
    diffusers DDPM scheduler's ``betas`` and ``alphas_cumprod``. Each trial is a schedule of its own (a random linear
    or scaled-linear range of betas) and random timesteps with t = 0 among them; the hint names a typical slip."""
    g = torch.Generator().manual_seed(seed)
    slips = {  # each slip's weights, from the scheduler and the timesteps
        "the bound halves the squared error (a Gaussian's log-density has 1/2 in front of it)":
            lambda s, t: 2 * elbo_weights(s, t),
        "alpha_t is one step's 1 - beta_t; alphabar_t is the product up to t":
            lambda s, t: s.betas.double()[t] / (2 * s.alphas_cumprod.double()[t] * (1 - s.alphas_cumprod.double()[t])),
        "the variance in the denominator is all the noise up to t, 1 - alphabar_t, not one step's":
            lambda s, t: 1 / (2 * (1 - s.betas.double()[t])),
        "index the schedule's arrays at t itself, not t - 1": lambda s, t: elbo_weights(s, (t - 1).clamp(min=0)),
    }
    hits, wrong = {h: 0 for h in slips}, []
    for i in range(trials):
        start = float(torch.empty(1).uniform_(0.0001, 0.001, generator=g))
        end = float(torch.empty(1).uniform_(0.01, 0.03, generator=g))
        scheduler = make_scheduler(beta_start=start, beta_end=end, beta_schedule=("linear", "scaled_linear")[i % 2])
        t = torch.cat([torch.zeros(1, dtype=torch.long), torch.randint(1, scheduler.config.num_train_timesteps, (7,), generator=g)])
        ok, got = _attempt(fn, scheduler, t.clone())
        if not ok:
            return False
        assert got is not None, "your function returned None; hint: return one weight per timestep, a tensor of t's shape"
        got = torch.as_tensor(got, dtype=torch.float64).flatten()
        want = elbo_weights(scheduler, t)
        for hint, slip in slips.items():
            expect = slip(scheduler, t)
            hits[hint] += got.shape == expect.shape and bool(torch.allclose(got, expect, rtol=1e-6))
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-6):
            wrong.append(f"trial {i}: {tuple(got.shape)} weights, first {float(got[0]) if got.numel() else float('nan'):.5g} at t = 0")
    return _verdict(wrong, hits, "write the bound's term at t as a Gaussian log-density and read off the factor of ||eps - eps_theta||^2", f"of {trials} schedules wrong",
                    "your weights match the variational bound's on every schedule.")
