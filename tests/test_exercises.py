import pytest
import torch

from igm_lite import exercises


def test_weighted_composition_check():
    def right(eps_u, eps_k, mask, w):
        return eps_u + w * ((eps_k - eps_u.unsqueeze(1)) * mask.unsqueeze(-1)).sum(1)

    def ignores_mask(eps_u, eps_k, mask, w):
        return eps_u + w * (eps_k - eps_u.unsqueeze(1)).sum(1)

    def stub(eps_u, eps_k, mask, w):
        raise NotImplementedError

    assert exercises.check_weighted_composition(right) is True
    assert exercises.check_weighted_composition(stub) is False
    with pytest.raises(AssertionError, match="masked-out"):
        exercises.check_weighted_composition(ignores_mask)


def test_product_check():
    def right(means, precisions):
        cov = torch.linalg.inv(precisions.sum(0))
        return cov @ torch.einsum("kij,kj->i", precisions, means), cov

    def plain_average(means, precisions):
        cov = torch.linalg.inv(precisions.sum(0))
        return means.mean(0), cov

    assert exercises.check_product_of_experts(right) is True
    with pytest.raises(AssertionError, match="mean wrong"):
        exercises.check_product_of_experts(plain_average)


def test_mean_config_error_check():
    """A right answer passes, a stub is 'not attempted', and the sum instead of the mean fails with a hint."""
    def right(gram, config):
        K = len(config)
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0] = 1.0
        v[2 + config] = -1.0 / K
        return float(v @ gram @ v)

    def summed(gram, config):
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0] = 1.0
        v[2 + config] = -1.0
        return float(v @ gram @ v)

    def stub(gram, config):
        raise NotImplementedError

    assert exercises.check_mean_config_error(right) is True
    assert exercises.check_mean_config_error(stub) is False
    with pytest.raises(AssertionError, match="does not grow with K"):
        exercises.check_mean_config_error(summed, seed=1)


def test_weighted_set_error_check():
    """The sum of differences passes; forgetting the empty prompt's prediction fails with a hint."""
    def vector(gram, prompts, u):
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0], v[1] = 1.0, -u
        v[2 + prompts] = -1.0
        return float(v @ gram @ v)

    assert exercises.check_weighted_set_error(lambda g, p: vector(g, p, 1.0 - len(p))) is True
    assert exercises.check_weighted_set_error(lambda g, p: (_ for _ in ()).throw(NotImplementedError())) is False
    with pytest.raises(AssertionError, match="left the empty prompt's prediction out"):
        exercises.check_weighted_set_error(lambda g, p: vector(g, p, 0.0))


def test_perception_checker_accepts_hungarian_and_refuses_nearest_neighbours(capsys):
    from scipy.optimize import linear_sum_assignment

    def hungarian(pred, truth, threshold):
        if len(pred) == 0:
            return 0
        cost = ((pred[:, None] - truth[None]) ** 2).mean(-1)
        rows, cols = linear_sum_assignment(cost.numpy())
        return int((cost[rows, cols] < threshold).sum())

    def nearest(pred, truth, threshold):
        if len(pred) == 0:
            return 0
        return int((((pred[:, None] - truth[None]) ** 2).mean(-1).min(0).values < threshold).sum())

    def todo(pred, truth, threshold):
        raise NotImplementedError

    assert exercises.check_perception(hungarian)
    with pytest.raises(AssertionError, match="Hungarian"):
        exercises.check_perception(nearest)
    assert exercises.check_perception(todo) is False


def test_elimination_checker_names_the_mistake():
    """A function that returns nothing, or the best configuration over all samples, fails with a hint saying so."""
    with pytest.raises(AssertionError, match="return the chosen configuration's index"):
        exercises.check_elimination(lambda errors, schedule: None)
    with pytest.raises(AssertionError, match="the best configuration on ALL samples"):
        exercises.check_elimination(lambda errors, schedule: int(errors.mean(0).argmin()))


# Staged elimination, the exercise's right answers written in several ways, and the typical wrong ones.
def _stages(errors, schedule, upto=lambda n, done: slice(0, n), keep=lambda k, stage: k, pick=lambda alive, mean, k: alive[mean.argsort()[:k]]):
    alive, done = torch.arange(errors.shape[1]), 0
    for stage, (n, k) in enumerate(schedule):
        mean = errors[upto(n, done) if stage == 0 or upto.__name__ != "first_only" else slice(0, n), alive].mean(0)
        alive = pick(alive, mean, max(1, keep(k, stage)))
        done = n
    return int(alive[0])


ELIMINATION_RIGHT = {
    "mean": lambda e, s: _stages(e, s),
    "sum": lambda e, s: _stages(e, s, pick=lambda alive, mean, k: alive[(mean * 7).argsort()[:k]]),
    "topk": lambda e, s: _stages(e, s, pick=lambda alive, mean, k: alive[torch.topk(mean, k, largest=False).indices]),
    "python sort": lambda e, s: _stages(e, s, pick=lambda alive, mean, k: alive[sorted(range(len(alive)), key=lambda i: float(mean[i]))[:k]]),
}
ELIMINATION_WRONG = {
    "n + 1 samples": lambda e, s: _stages(e, s, upto=lambda n, done: slice(0, n + 1)),
    "n - 1 samples": lambda e, s: _stages(e, s, upto=lambda n, done: slice(0, n - 1)),
    "first stage n + 1": lambda e, s: _stages(e, [(s[0][0] + 1, s[0][1])] + list(s[1:])),
    "first stage n - 1": lambda e, s: _stages(e, [(s[0][0] - 1, s[0][1])] + list(s[1:])),
    "keep + 1": lambda e, s: _stages(e, s, keep=lambda k, stage: k + 1),
    "keep - 1": lambda e, s: _stages(e, s, keep=lambda k, stage: k - 1),
    "first stage keeps one more": lambda e, s: _stages(e, s, keep=lambda k, stage: k + (stage == 0)),
    "new samples only": lambda e, s: _stages(e, s, upto=lambda n, done: slice(done, n)),
    "best on all samples": lambda e, s: int(e.mean(0).argmin()),
    "keeps the worst": lambda e, s: _stages(e, s, pick=lambda alive, mean, k: alive[mean.argsort(descending=True)[:k]]),
    "first stage decides": lambda e, s: _stages(e, s[:1]),
    "position among survivors": lambda e, s: int(e[:, torch.tensor(sorted(range(e.shape[1]), key=lambda c: float(e[: s[0][0], c].mean()))[: s[0][1]])].mean(0).argmin()),
    "median": lambda e, s: _stages(e, s, pick=lambda alive, mean, k: alive[mean.argsort()[:k]]) if False else _median(e, s),
}


def _median(errors, schedule):
    alive = torch.arange(errors.shape[1])
    for n, k in schedule:
        alive = alive[errors[:n, alive].median(0).values.argsort()[:k]]
    return int(alive[0])


@pytest.mark.parametrize("seed", [0] + list(range(1000, 1200)))
def test_elimination_checker_refuses_every_typical_mistake_and_accepts_every_right_answer(seed, capsys):
    """At the default seed and 200 others: every right variant passes, every typical wrong one is refused."""
    for name, fn in ELIMINATION_RIGHT.items():
        assert exercises.check_elimination(fn, seed=seed) is True, name
    for name, fn in ELIMINATION_WRONG.items():
        with pytest.raises(AssertionError):
            exercises.check_elimination(fn, seed=seed)
            print(f"{name} passed at seed {seed}")


def _quadratic(gram, idx, coef, u=0.0):
    """v^T G v with v = (1, -u, -coef at 2 + idx): a set's error from the Gram matrix."""
    v = torch.zeros(gram.shape[0], dtype=gram.dtype)
    v[0], v[1] = 1.0, -u
    v[2 + idx] = -coef
    return float(v @ gram @ v)


def _expanded(gram, idx, coef, cross=2.0, sign=-1.0, pairs=True, constant=True):
    """The same error expanded term by term, with the typical slips as switches."""
    lin = sum(gram[0, 2 + m] for m in idx) * coef
    quad = sum(gram[2 + a, 2 + b] for a in idx for b in idx if pairs or a == b) * coef ** 2
    return float((gram[0, 0] if constant else 0.0) + sign * cross * lin + quad)


def _submatrix(gram, config):
    """The Gram matrix's block of the noise and the configuration's concepts, weighted by (1, -1/K, ..., -1/K)."""
    idx = torch.cat([torch.zeros(1, dtype=torch.long), 2 + config])
    w = torch.cat([torch.ones(1, dtype=gram.dtype), torch.full((len(config),), -1.0 / len(config), dtype=gram.dtype)])
    return float(torch.einsum("i,ij,j->", w, gram[idx][:, idx], w))


MEAN_RIGHT = {
    "quadratic form": lambda g, c: _quadratic(g, c, 1.0 / len(c)),
    "expanded": lambda g, c: _expanded(g, c, 1.0 / len(c)),
    "submatrix": lambda g, c: _submatrix(g, c),
}
MEAN_WRONG = {
    "sum": (lambda g, c: _quadratic(g, c, 1.0), "grow with K"),
    "index m": (lambda g, c: _quadratic(g, c - 2, 1.0 / len(c)), "not at index m"),
    "null in the mean": (lambda g, c: _quadratic(g, c, 1.0 / (len(c) + 1), u=1.0 / (len(c) + 1)), "null concept"),
    "no constant": (lambda g, c: _expanded(g, c, 1.0 / len(c), constant=False), "does not depend"),
    "cross term once": (lambda g, c: _expanded(g, c, 1.0 / len(c), cross=1.0), "appears twice"),
    "cross term sign": (lambda g, c: _expanded(g, c, 1.0 / len(c), sign=1.0), "sign"),
    "no pairs": (lambda g, c: _expanded(g, c, 1.0 / len(c), pairs=False), "interact"),
    "1/K on the quadratic terms": (lambda g, c: float(g[0, 0] - 2 / len(c) * sum(g[0, 2 + m] for m in c) + sum(g[2 + a, 2 + b] for a in c for b in c) / len(c)), "another factor"),
    "a norm": (lambda g, c: _quadratic(g, c, 1.0 / len(c)) ** 0.5, "squared distance"),
}
WEIGHTED_RIGHT = {
    "quadratic form": lambda g, p: _quadratic(g, p, 1.0, u=1.0 - len(p)),
    "loop": lambda g, p: _quadratic(g, p, 1.0, u=sum(-1.0 for _ in p) + 1.0),
}
WEIGHTED_WRONG = {
    "mean of differences": (lambda g, p: _quadratic(g, p, 1.0 / len(p), u=0.0), "mean composition"),
    "no empty prompt": (lambda g, p: _quadratic(g, p, 1.0), "left the empty prompt"),
    "sums not differences": (lambda g, p: _quadratic(g, p, 1.0, u=1.0), "not their differences"),
    "index m": (lambda g, p: _quadratic(g, p - 2, 1.0, u=1.0 - len(p)), "not at index m"),
    "a norm": (lambda g, p: _quadratic(g, p, 1.0, u=1.0 - len(p)) ** 0.5, "squared distance"),
    "no constant": (lambda g, p: _quadratic(g, p, 1.0, u=1.0 - len(p)) - float(g[0, 0]), "does not depend"),
    "u with coefficient K - 1": (lambda g, p: _quadratic(g, p, 1.0, u=len(p) - 1.0), None),
}


@pytest.mark.parametrize("check, right, wrong", [("check_mean_config_error", MEAN_RIGHT, MEAN_WRONG),
                                                 ("check_weighted_set_error", WEIGHTED_RIGHT, WEIGHTED_WRONG)])
def test_gram_checkers_refuse_every_typical_mistake_with_its_hint(check, right, wrong, capsys):
    """At the default seed and 200 others every right variant passes and every typical mistake is refused; at the
    default seed each named mistake gets its own hint, and no hint writes the formula out."""
    checker = getattr(exercises, check)
    for seed in [0] + list(range(1000, 1200)):
        for name, fn in right.items():
            assert checker(fn, seed=seed) is True, (name, seed)
        for name, (fn, hint) in wrong.items():
            with pytest.raises(AssertionError) as caught:
                checker(fn, seed=seed)
            if seed == 0 and hint:
                assert hint in str(caught.value), (name, str(caught.value))
            assert "1 - K" not in str(caught.value) and "1/K" not in str(caught.value), name
