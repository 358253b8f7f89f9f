"""Discrete inversion: choose the set of candidate concepts whose composition denoises the image best.

The pool holds M candidate concepts (attribute values, prompts, positions on a grid). The naive way
(the official code) composes every candidate set at every noise sample: S sets x K concepts network
rows per sample. Because every composition is linear (``igm_lite.compose``),

    eps_S = a_u(K) e_u + a(K) sum_{m in S} e_m,

where e_m = eps_theta(x_t, t | c_m) and e_u = eps_theta(x_t, t | ∅), the error of ANY set is a
quadratic form in the cached per-candidate predictions:

    || eps - eps_S ||^2 = v_S^T G v_S,   v_S = (1, -a_u(K), -a(K) 1[m in S]),
    G = Gram matrix of (eps, e_u, e_1, ..., e_M)                                           (cached error)

Averaging G over the N noise samples gives the mean error of every set from one (M+2) x (M+2) matrix.
So each candidate is evaluated ONCE per noise sample (M or M + 1 rows), whatever the number of sets.
Sets are then enumerated when few, or searched (greedy additions, then single swaps) when many.

Two ways to spend fewer samples on sets that are clearly worse: staged elimination (Diffusion Classifier's fixed
schedule, ``staged_elimination``) and racing (``race``: a set is dropped when a paired test on the shared samples
says it is worse than the leader, so each image stops when its own answer is settled).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import torch
from scipy import stats

from ..checks import check_float, check_int, check_pool, check_sample, check_sets
from ..compose import ComposedDenoiser, coefficients, needs_uncond
from ..schedule import NoiseConfig, NoiseSamples
from .base import MAX_ROWS, Engine, InferenceResult, check_noise_samples, denoising_error


def subsets(m: int, k: int) -> torch.Tensor:
    """All k-subsets of range(m) as a (C(m, k), k) long tensor."""
    return torch.tensor(list(itertools.combinations(range(m), k)), dtype=torch.long).view(-1, k)


def product_sets(group_sizes: list[int]) -> torch.Tensor:
    """One value per group, for a pool made of consecutive groups (e.g. 3 attributes x 2 values):
    returns (prod(sizes), len(sizes)) indices into the concatenated pool."""
    offsets = [sum(group_sizes[:g]) for g in range(len(group_sizes))]
    rows = itertools.product(*[range(o, o + s) for o, s in zip(offsets, group_sizes)])
    return torch.tensor(list(rows), dtype=torch.long).view(-1, len(group_sizes))


def pad_sets(sets: list[list[int]] | torch.Tensor) -> torch.Tensor:
    """Sets of indices of different sizes -> (S, K_max) long, padded with -1."""
    if isinstance(sets, torch.Tensor):
        return sets.long()
    k_max = max(len(s) for s in sets)
    return torch.tensor([list(s) + [-1] * (k_max - len(s)) for s in sets], dtype=torch.long)


class CachedScorer:
    """The cache of one image: each candidate evaluated once per noise sample, kept as one Gram matrix.

    Args:
        model: the composed denoiser (its mode and weight define the composition).
        x0: the image (*shape).
        pool: (M, D) candidate concepts.
        samples: N shared noise samples to evaluate every candidate at now (None: call ``add`` later).
        scheduler: the noise schedule (``add_noise``).
        max_rows: the most backbone rows in one call (several noise samples share a call).

    ``add`` evaluates (some) candidates at further samples; ``errors`` is exact for every set whose
    members were evaluated at all the samples added so far (staged elimination and racing rely on this).
    ``keep_samples`` keeps one Gram matrix per sample as well, for the error of each set at each sample alone.
    """

    def __init__(self, model: ComposedDenoiser, x0: torch.Tensor, pool: torch.Tensor, samples: NoiseSamples | None,
                 scheduler, max_rows: int = MAX_ROWS, keep_samples: bool = False):
        check_sample(x0, model, "x0")
        check_pool(pool, model)
        max_rows = check_int(max_rows, "max_rows")
        self.model, self.x0, self.pool, self.scheduler, self.max_rows = model, x0, pool.to(x0), scheduler, max_rows
        self.mode, self.weight, self.M = model.mode, model.weight, pool.shape[0]
        self.gram_sum = torch.zeros(self.M + 2, self.M + 2, dtype=torch.float64)  # layout: eps, e_u, e_1..e_M
        self.sample_grams = [] if keep_samples else None  # with keep_samples: one Gram matrix per sample
        self.n, self.network_evals = 0, 0
        if samples is not None:
            self.add(samples)

    @torch.no_grad()
    def add(self, samples: NoiseSamples, candidates=None) -> None:
        """Evaluate ``candidates`` (pool indices; default all) at each of ``samples`` and accumulate their
        Gram matrix with the target noise (and the null concept where the mode needs it)."""
        model, x0 = self.model, self.x0
        check_noise_samples(samples, x0, self.scheduler)
        idx = torch.arange(self.M) if candidates is None else torch.as_tensor(candidates, dtype=torch.long).unique()
        if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= self.M:
            raise ValueError(f"candidates must be indices in [0, M = {self.M}), got {idx.tolist()}")
        conds = self.pool[idx]
        pos = idx + 2
        if needs_uncond(self.mode):
            conds = torch.cat([model.encoder.null_concepts(1).to(conds), conds])
            pos = torch.cat([torch.tensor([1]), pos])
        pos = torch.cat([torch.tensor([0]), pos])
        evals0 = model.network_evals
        R, N = len(conds), len(samples)
        t_all, eps_all = samples.t.to(x0.device), samples.noise.to(x0)
        x_all = self.scheduler.add_noise(x0.unsqueeze(0).expand(N, *x0.shape), eps_all, t_all)
        per = max(1, self.max_rows // R)  # samples per backbone call: all R candidates of each sample
        for n0 in range(0, N, per):
            x_t, t, eps = x_all[n0 : n0 + per], t_all[n0 : n0 + per], eps_all[n0 : n0 + per]
            b = x_t.shape[0]
            preds = model.predict(x_t.repeat_interleave(R, 0), t.repeat_interleave(R), conds.repeat(b, 1)).view(b, R, -1)
            V = torch.cat([eps.reshape(b, 1, -1), preds], 1).double()  # (b, R + 1, numel)
            if self.sample_grams is None:
                self.gram_sum[pos.unsqueeze(1), pos.unsqueeze(0)] += torch.einsum("bik,bjk->ij", V, V).cpu() / V.shape[-1]
            else:
                g = torch.zeros(b, self.M + 2, self.M + 2, dtype=torch.float64)
                g[:, pos.unsqueeze(1), pos.unsqueeze(0)] = torch.einsum("bik,bjk->bij", V, V).cpu() / V.shape[-1]
                self.sample_grams.append(g)
                self.gram_sum += g.sum(0)
        self.n += len(samples)
        self.network_evals += model.network_evals - evals0

    @property
    def gram(self) -> torch.Tensor:
        """The Gram matrix averaged over the samples added so far."""
        return self.gram_sum / max(self.n, 1)

    def errors(self, sets: torch.Tensor, mode: str | None = None, weight: float | None = None, per_sample: bool = False) -> torch.Tensor:
        """Mean denoising error of each set: sets (S, K_max) long indices into the pool, -1 for padding.
        ``mode`` / ``weight`` score the sets under another composition than the model's, from the same
        cache (the ``"weighted"`` form needs the null concept in it: build the scorer in that mode).
        ``per_sample`` (a scorer made with ``keep_samples``): the error at each sample alone, (N, S), exact at the samples
        where every member of the set was evaluated."""
        mode, weight = mode or self.mode, self.weight if weight is None else weight
        if needs_uncond(mode) and not needs_uncond(self.mode):
            raise ValueError(f"the cache was built in mode {self.mode!r} without the null concept; '{mode}' needs it")
        sets = check_sets(sets, self.M)
        member = sets >= 0
        a_u, a = coefficients(mode, member.sum(1), weight)
        v = torch.zeros(sets.shape[0], self.M + 2, dtype=torch.float64)
        v[:, 0] = 1.0
        v[:, 1] = -a_u.double()
        rows = torch.arange(sets.shape[0]).unsqueeze(1).expand_as(sets)[member]
        v.index_put_((rows, sets[member] + 2), -a.double()[rows], accumulate=True)
        if per_sample:
            if self.sample_grams is None:
                raise ValueError("per_sample errors need a scorer made with keep_samples=True")
            return torch.einsum("si,nij,sj->ns", v, torch.cat(self.sample_grams), v).float()
        return torch.einsum("si,ij,sj->s", v, self.gram, v).float()


def greedy_search(scorer: CachedScorer, k: int | None = None, k_max: int | None = None, swaps: bool = True, max_swaps: int = 100,
                  conflicts: torch.Tensor | None = None):
    """Grow a set one candidate at a time, each time adding the one that lowers the error most.

    With ``k`` given, grow to exactly k; otherwise stop when no addition lowers the error (or at
    ``k_max``): the number of concepts is then inferred (the paper's least-error choice of K, without a scan).
    Then apply the best single swap (one member for one non-member) while it lowers the error.
    ``conflicts`` (M, M) bool marks candidates that exclude each other (two positions closer than an
    object is wide): a set never holds two of them.
    Returns (answer (K,), error, scored sets (S, K_max), their errors (S,)).
    """
    M = scorer.M
    clash = conflicts if conflicts is not None else torch.zeros(M, M, dtype=torch.bool)
    free = lambda members, m: m not in members and not any(bool(clash[m, j]) for j in members)  # noqa: E731
    limit = check_int(k, "k", 1, M) if k is not None else (M if k_max is None else check_int(k_max, "k_max", 1, M))
    current, best = [], float("inf")
    seen_sets, seen_err = [], []

    def score(cands):
        err = scorer.errors(pad_sets(cands))
        seen_sets.extend(cands)
        seen_err.append(err)
        return err

    while len(current) < limit:
        cands = [current + [m] for m in range(M) if free(current, m)]
        if not cands:
            break
        err = score(cands)
        i = int(err.argmin())
        if k is None and current and float(err[i]) >= best:
            break
        current, best = cands[i], float(err[i])
    for _ in range(max_swaps if swaps else 0):
        cands = [current[:i] + [m] + current[i + 1 :] for i in range(len(current)) for m in range(M)
                 if m not in current and free(current[:i] + current[i + 1 :], m)]
        if not cands:
            break
        err = score(cands)
        i = int(err.argmin())
        if float(err[i]) >= best:
            break
        current, best = cands[i], float(err[i])
    return torch.tensor(sorted(current)), best, pad_sets(seen_sets), torch.cat(seen_err)


def check_schedule(schedule, n_samples: int) -> list[tuple[int, int]]:
    """An elimination schedule [(samples used so far, sets kept), ...]: sample counts increasing within
    1..n_samples, at least one set kept per stage."""
    try:
        stages = [(int(n), int(keep)) for n, keep in schedule]
    except (TypeError, ValueError):
        raise TypeError(f"schedule must be a list of (samples so far, sets kept) pairs, e.g. [(8, 2), (32, 1)], got {schedule!r}") from None
    counts = [n for n, _ in stages]
    if not stages or counts != sorted(set(counts)) or counts[0] < 1 or counts[-1] > n_samples or min(k for _, k in stages) < 1:
        raise ValueError(f"schedule sample counts must increase within 1..n_samples = {n_samples} and keep >= 1 set per stage, got {schedule}")
    return stages


def staged_elimination(scorer: CachedScorer, samples: NoiseSamples, sets: torch.Tensor, schedule):
    """Diffusion Classifier's staged elimination on cached predictions.

    ``schedule`` is a list of (n_samples, keep): at each stage the samples up to n_samples are used, the
    surviving sets are scored and the best ``keep`` survive. Only the candidates that surviving sets
    still contain are evaluated at a stage's new samples. Returns (answer, its error, errors (S,) of
    every set at the last stage it was scored, the stage each set was last scored at).
    """
    sets = pad_sets(sets)
    alive = torch.arange(sets.shape[0])
    errors = torch.full((sets.shape[0],), float("nan"))
    last_stage = torch.zeros(sets.shape[0], dtype=torch.long)
    done = 0
    for stage, (n_until, keep) in enumerate(schedule):
        if not done < n_until <= len(samples):
            raise ValueError(f"schedule sample counts must increase within 1..{len(samples)}, got {schedule}")
        members = sets[alive][sets[alive] >= 0].unique()
        scorer.add(type(samples)(samples.t[done:n_until], samples.noise[done:n_until]), members)
        done = n_until
        err = scorer.errors(sets[alive])
        errors[alive], last_stage[alive] = err, stage
        alive = alive[err.argsort()[: max(1, keep)]]
    best = alive[int(errors[alive].argmin())]
    return sets[best][sets[best] >= 0], float(errors[best]), errors, last_stage


def race_looks(n_max: int) -> list[int]:
    """The numbers of samples at which racing tests: 4, 6, 9, 14, 21, 32, 48, ... (each about 1.5 times the last, so
    an image that needs n samples spends at most about 1.5 n) and, last, ``n_max``. The first test waits for 4 samples:
    with fewer, the variance of the differences rests on one or two degrees of freedom and a few samples at similar
    noise levels look far surer than they are."""
    looks, n = [], 4
    while n < n_max:
        looks.append(n)
        n = max(n + 1, round(1.5 * n))
    return looks + [check_int(n_max, "n_max")]


def race_drops(per_sample: torch.Tensor, confidence: float) -> torch.Tensor:
    """Which sets racing drops after n samples: per_sample (n, A) the error of each surviving set at each sample
    (n >= 2). With b the set of least mean error and d_i = e_s,i - e_b,i the paired differences, s is dropped when

        d_bar - q * s_d / sqrt(n) > 0,    q = the Student-t quantile of ``confidence`` with n - 1 degrees of freedom

    (s_d the standard deviation of the d_i): the one-sided lower bound of s's excess error over b is above zero.
    Returns (A,) bool, True for the sets dropped (never b)."""
    n = per_sample.shape[0]
    if n < 2:
        raise ValueError(f"a paired test needs at least 2 samples, got {n}")
    d = per_sample.double() - per_sample.double()[:, per_sample.mean(0).argmin()].unsqueeze(1)
    lower = d.mean(0) - float(stats.t.ppf(confidence, n - 1)) * d.std(0) / math.sqrt(n)
    return lower > 0


def race(scorer: CachedScorer, samples: NoiseSamples, sets: torch.Tensor, confidence: float):
    """Racing: staged elimination whose every drop is a paired test, so that each image spends what it needs.

    Every surviving set is scored on the same noise samples, so two sets' errors differ by paired differences
    d_i = e_s,i - e_b,i that are far less noisy than either error (common random numbers). At each look
    (``race_looks``: after 4, 6, 9, 14, ... samples) the set b of least mean error is the leader and every other
    survivor s is tested against it (``race_drops``): s is dropped when the lower ``confidence`` bound of its excess
    error E[d] is above zero. An image stops as soon as one set is left, else after every sample (the answer is
    then the least mean error among the survivors: with nothing dropped, the cached engine's answer on the same
    samples). Only the candidates that surviving sets still contain are evaluated at each look's new samples, so
    the cost falls as sets drop out. This is a racing algorithm (Maron and Moore, "The racing algorithm: model
    selection for lazy learners", AI Review 1997) with paired t-tests against the leader, as in irace's t-test race
    (Lopez-Ibanez et al., "The irace package", Operations Research Perspectives 2016); successive elimination in
    the bandit literature (Even-Dar, Mannor and Mansour, JMLR 2006) is the same idea with bounded rewards.

    What it guarantees and what it does not: each test is one-sided at ``confidence`` per comparison and per look,
    with the t-test's normal approximation of the mean of d (the d_i are independent given the image: each sample
    draws its own t and noise). Nothing is corrected for multiple comparisons: over L looks and S - 1 rivals, the
    chance that an image loses the set of least expected error is at most L (S - 1) (1 - confidence) by the union
    bound (a loose bound: the tests are strongly dependent), and the set of least *expected* error is not always
    the set the cached engine would choose on the same finite samples. The racing benchmark measures both
    (``python -m igm_lite.bench results racing``).

    Returns (answer, its error, errors (S,) of every set over the samples it was scored on, the number of samples
    each set was scored on (S,)).
    """
    confidence = check_float(confidence, "confidence", 0.0, 1.0, lo_open=True)
    if confidence >= 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    sets = pad_sets(sets)
    alive = torch.arange(sets.shape[0])
    errors = torch.full((sets.shape[0],), float("nan"))
    scored = torch.zeros(sets.shape[0], dtype=torch.long)
    done = 0
    for n in race_looks(len(samples)):
        members = sets[alive][sets[alive] >= 0].unique()
        scorer.add(type(samples)(samples.t[done:n], samples.noise[done:n]), members)
        done = n
        per_sample = scorer.errors(sets[alive], per_sample=True)  # (n, survivors): every member evaluated at every sample
        errors[alive], scored[alive] = per_sample.mean(0), n
        if len(alive) > 1 and n < len(samples):
            alive = alive[~race_drops(per_sample, confidence)]
        if len(alive) == 1:
            break
    best = alive[int(errors[alive].argmin())]
    return sets[best][sets[best] >= 0], float(errors[best]), errors, scored


METHODS = ("cached", "eliminate", "race", "naive")


@dataclass(frozen=True)
class DiscreteConfig:
    """The settings of ``DiscreteEngine`` (and of the engines built on it), with their defaults. A setting that only
    one method reads (``schedule``: "eliminate"; ``confidence``: "race") is refused with another method."""

    noise: NoiseConfig = NoiseConfig()  # the shared (t, eps) samples every candidate set is judged on (32, t over the whole schedule)
    method: str = "cached"  # "cached" (each candidate once per sample), "eliminate" (cached + staged elimination), "race" (cached + racing), "naive"
    schedule: tuple | None = None  # "eliminate": ((samples so far, sets kept), ...); None: (N/4, 5), (N, 1)
    confidence: float = 0.99  # "race": drop a set when its paired excess error over the leader is above 0 at this confidence; n_samples is the most it spends
    max_sets: int = 20000  # without explicit sets: enumerate up to this many, otherwise search (greedy, then swaps)
    k_max: int | None = None  # without explicit sets and with k None: sets of 1 to k_max candidates (None: up to the whole pool)
    swaps: bool = True  # the search: after growing a set, try single swaps while one lowers the error
    max_rows: int = MAX_ROWS  # the most backbone rows in one call
    METHODS = METHODS  # the values of ``method`` (a recorded block may hold settings chosen for one of them)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not isinstance(self.noise, NoiseConfig):
            raise TypeError(f"noise must be an igm_lite.NoiseConfig, got {type(self.noise).__name__}")
        schedule = tuple(check_schedule(self.schedule, self.noise.n_samples)) if self.schedule else None
        if schedule is not None and self.method != "eliminate":
            raise ValueError(f"schedule is read by method 'eliminate' only; method={self.method!r} would ignore schedule={list(schedule)}")
        if not 0.0 < check_float(self.confidence, "confidence") < 1.0:
            raise ValueError(f"confidence must lie in (0, 1), e.g. 0.99, got {self.confidence}")
        if self.method != "race" and float(self.confidence) != DiscreteConfig.confidence:
            raise ValueError(f"confidence is read by method 'race' only; method={self.method!r} would ignore confidence={self.confidence}")
        if not isinstance(self.swaps, bool):
            raise TypeError(f"swaps must be True or False, got {self.swaps!r}")
        for name, value in (("schedule", schedule), ("confidence", float(self.confidence)), ("max_sets", check_int(self.max_sets, "max_sets")),
                            ("k_max", None if self.k_max is None else check_int(self.k_max, "k_max")),
                            ("max_rows", check_int(self.max_rows, "max_rows"))):
            object.__setattr__(self, name, value)

    @property
    def stages(self) -> list[tuple[int, int]]:
        """The elimination schedule in use: ``schedule``, or by default every set on N/4 samples, the best 5 on all N."""
        n = self.noise.n_samples
        return list(self.schedule or [(max(1, n // 4), 5), (n, 1)])


@dataclass
class DiscreteResult(InferenceResult):
    """``DiscreteEngine``'s answer for one image (``InferenceResult``'s fields; ``errors`` of a set dropped by staged
    elimination or racing is its mean over the samples it was scored on), and:

    Attributes:
        last_stage: (S,) the stage at which each candidate set was last scored (staged elimination; None otherwise).
        schedule: the elimination schedule used, [(samples so far, sets kept), ...] (staged elimination; None otherwise).
        samples_scored: (S,) the number of noise samples each set was scored on (every method).
    """

    last_stage: torch.Tensor | None = None
    schedule: list | None = None
    samples_scored: torch.Tensor | None = None

    @property
    def samples_used(self) -> int:
        """The noise samples the decision used: the most any set was scored on."""
        return int(self.samples_scored.max()) if self.samples_scored is not None else 0


class DiscreteEngine(Engine):
    """Discrete inversion with shared noise: ``infer(x0, pool, sets=None, k=None)`` (one image), ``infer_many(x0, pool,
    sets=None, k=None)`` (a batch, the same pool for every image) -> ``DiscreteResult``.

    Args:
        model: the composed denoiser.
        scheduler: the noise schedule.
        config: a ``DiscreteConfig`` (None: the settings the model carries from its folder, ``inference.json``'s
            ``"discrete"`` block, over the dataclass's defaults); keyword arguments override its fields, e.g.
            ``DiscreteEngine(model, scheduler, n_samples=16, method="naive")``.
    """

    Config, kind = DiscreteConfig, "discrete"

    def __init__(self, model, scheduler, config: DiscreteConfig | None = None, **overrides):
        super().__init__(model, scheduler, config, **overrides)
        self.method = self.config.method

    def noise_for(self, x0: torch.Tensor) -> NoiseSamples:
        return self.config.noise.draw(x0.shape)

    def infer(self, x0: torch.Tensor, pool: torch.Tensor, sets=None, *, k: int | None = None) -> DiscreteResult:
        """Infer the concepts of x0 (*shape) from the candidate pool (M, D).

        ``sets`` given (a list of index lists or a padded (S, K) tensor): enumerate them and return the
        best (sets of several sizes: the number of concepts is chosen by the least error too); ``k`` must then be None.
        Otherwise the sets are all subsets of exactly ``k`` candidates, or (k None) of 1 to ``k_max`` (default M):
        enumerated when there are at most ``max_sets`` of them, searched (greedy, then ``swaps``) otherwise.
        """
        check_sample(x0, self.model, "x0")
        M = check_pool(pool, self.model).shape[0]
        k_max = self.config.k_max
        if sets is not None:
            if k is not None:
                raise ValueError(f"k={k} and sets: give the candidate sets, or k to enumerate the subsets of k candidates, not both")
            sets = check_sets(sets, M)
        else:
            if k_max is not None and k_max > M:
                raise ValueError(f"k_max must be in [1, {M}] (the pool's size), got {k_max}")
            sizes = [check_int(k, "k", 1, M)] if k is not None else list(range(1, (M if k_max is None else k_max) + 1))
            if sum(math.comb(M, s) for s in sizes) <= self.config.max_sets:
                sets = pad_sets([list(c) for s in sizes for c in itertools.combinations(range(M), s)])
        start, samples = time.perf_counter(), self.noise_for(x0)
        if sets is None and self.method != "cached":
            raise ValueError(f"method='{self.method}' only enumerates, and there are more than max_sets = {self.config.max_sets} sets: pass sets=... or raise max_sets")
        if self.method in ("eliminate", "race"):
            scorer = CachedScorer(self.model, x0, pool, None, self.scheduler, self.config.max_rows, keep_samples=self.method == "race")
            cand = pad_sets(sets)
            if self.method == "race":
                ans, err, errors, scored = race(scorer, samples, cand, self.config.confidence)
                return DiscreteResult(ans, err, cand, errors, scorer.network_evals, time.perf_counter() - start, samples_scored=scored)
            ans, err, errors, stage = staged_elimination(scorer, samples, cand, self.config.stages)
            scored = torch.tensor([n for n, _ in self.config.stages])[stage]
            return DiscreteResult(ans, err, cand, errors, scorer.network_evals, time.perf_counter() - start, last_stage=stage,
                                  schedule=self.config.stages, samples_scored=scored)
        if self.method == "naive":
            cand = pad_sets(sets)
            member = cand >= 0
            concepts = pool[cand.clamp(min=0)] * member.unsqueeze(-1)
            evals0 = self.model.network_evals
            errors = denoising_error(self.model, x0, concepts.to(x0), member, samples, self.scheduler, self.config.max_rows)
            evals = self.model.network_evals - evals0
        else:
            scorer = CachedScorer(self.model, x0, pool, samples, self.scheduler, self.config.max_rows)
            evals = scorer.network_evals
            if sets is not None:
                cand = pad_sets(sets)
                errors = scorer.errors(cand)
            else:
                ans, err, cand, errors = greedy_search(scorer, k=k, k_max=k_max, swaps=self.config.swaps)
                return DiscreteResult(ans, err, cand, errors, evals, time.perf_counter() - start,
                                      samples_scored=torch.full((cand.shape[0],), len(samples)))
        i = int(errors.argmin())
        answer = cand[i][cand[i] >= 0]
        return DiscreteResult(answer, float(errors[i]), cand, errors, evals, time.perf_counter() - start,
                              samples_scored=torch.full((cand.shape[0],), len(samples)))
