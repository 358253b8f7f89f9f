"""Continuous inversion: the positions of the objects in a scene, and their number.

The concepts are now continuous, c^k = (x_k, y_k) in [0, 1]^2, and IGM minimises the same denoising
error (``igm_lite.infer.base``) over them:

    (x, y)^{1..K} = argmin E_{t, eps} || eps - eps_theta(x_t, t | c^1..c^K) ||^2                  (positions)

Two searches are provided, both batched (every image and every initialisation in one backbone call):

- ``descend``: gradient descent (AdamW) on the positions from given initialisations, fresh noise at
  every step, shared by all initialisations of an image. With one initialisation drawn from
  N(0.5, 0.13^2), 2,000 steps, lr 4e-3 and t < 500 it is the official algorithm (``reference``);
  ``multistart`` runs R initialisations per image and keeps the one with the least error on a
  FIXED set of noise samples (the paper's multiple initialisations).
- ``PositionEngine``: positions on a grid are the pool of the cached discrete engine
  (``igm_lite.infer.discrete``): each grid position is evaluated once per noise sample and every set
  of positions is scored from the cache. Objects are added greedily while one more lowers the error,
  so the number of objects K is inferred (the paper's least-error choice of K) without scanning a range of K; a few gradient
  steps then move the positions off the grid, and a last check drops any object whose removal lowers
  the error (a second component that only patched a grid-quantisation residual).

Network evaluations are counted in backbone rows: a row that is also back-propagated counts 3.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from ..checks import check_float, check_int, check_sample, check_t_range, configure
from ..compose import combine, needs_uncond
from ..data.clevr import ClevrWorld, position_concepts
from ..schedule import NoiseConfig
from .base import MAX_ROWS, Engine, InferenceResult, per_image
from .discrete import CachedScorer, greedy_search

# Seed offsets: each random stream of the engine is seeded by (seed + offset), so that the grid's cache, the
# refinement and the last check never share noise with each other.
REFINE_SEED = 1  # the refinement's fresh noise at every step
CHECK_SEED = 7919  # the fresh samples of the last check (a prime, far from the others)


def grid_region(root=None) -> tuple:
    """The grid's rectangle (x0, x1, y0, y1): where the training scenes' objects stand (``ClevrWorld.region``) for
    the procedural scenes; the whole image, less a margin, for the real CLEVR (``root`` given)."""
    return PositionConfig.region if root else tuple(ClevrWorld.region)


def position_grid(n: int, lo, hi) -> torch.Tensor:
    """An n x n grid of position concepts (n * n, 3) = (x, y, 1) over [lo, hi]^2, row by row; ``lo`` and ``hi``
    may be (x, y) pairs for a rectangle (e.g. the floor region where objects of the training scenes stand)."""
    lo, hi = (torch.as_tensor(v, dtype=torch.float32).expand(2) for v in (lo, hi))
    if n < 1 or (lo < 0).any() or (hi > 1).any() or (lo > hi).any():
        raise ValueError(f"need n >= 1 and 0 <= lo <= hi <= 1 (per axis), got n={n}, lo={lo.tolist()}, hi={hi.tolist()}")
    gy, gx = torch.meshgrid(torch.linspace(lo[1], hi[1], n), torch.linspace(lo[0], hi[0], n), indexing="ij")
    return position_concepts(torch.stack([gx.flatten(), gy.flatten()], 1))


def composed_error(model, x_t, t, eps, pos, mask, eps_u=None):
    """Per-row error of composed predictions: x_t, eps (N, C, H, W), t (N,), positions pos (N, K, 2) with
    mask (N, K); ``eps_u`` (N, ...) the null prediction if already computed. Returns (N,) errors."""
    N, K = mask.shape
    b, k = mask.nonzero(as_tuple=True)
    e = model.predict(x_t[b], t[b], position_concepts(pos[b, k]))
    eps_k = e.new_zeros((N, K, *x_t.shape[1:])).index_put((b, k), e)
    if needs_uncond(model.mode) and eps_u is None:
        with torch.no_grad():
            eps_u = model.predict_null(x_t, t)
    pred = combine(eps_k, mask, eps_u, model.mode, model.weight)
    return (pred - eps).pow(2).flatten(1).mean(1)


@dataclass(frozen=True)
class DescentConfig:
    """The settings of ``DescentEngine`` (``multistart``, ``k_scan``), with their defaults; ``OFFICIAL`` is the official
    algorithm."""

    inits: int = 8  # random initialisations per image (positions ~ N(0.5, 0.13^2))
    steps: int = 300  # AdamW steps, one fresh (t, eps) per image each
    lr: float = 4e-3  # the official learning rate
    # the fixed noise samples on which the initialisations (and the Ks of a scan) are compared; its t range is the
    # descent's too (the official inference: t < 500), and its seed seeds each image's initialisations and noise alike
    noise: NoiseConfig = NoiseConfig(n_samples=8, t_range=(0, 500))
    k_range: tuple = (1, 10)  # the Ks a scan tries when K is not given (inclusive)

    def __post_init__(self):
        if not isinstance(self.noise, NoiseConfig):
            raise TypeError(f"noise must be an igm_lite.NoiseConfig, got {type(self.noise).__name__}")
        try:
            k_range = tuple(check_int(v, "k_range") for v in self.k_range)
        except TypeError:
            raise TypeError(f"k_range must be a pair (lo, hi) of counts, got {self.k_range!r}") from None
        if len(k_range) != 2 or k_range[0] > k_range[1]:
            raise ValueError(f"k_range must be a pair (lo, hi) with 1 <= lo <= hi, got {self.k_range!r}")
        for name, value in (("inits", check_int(self.inits, "inits")), ("steps", check_int(self.steps, "steps", lo=0)),
                            ("lr", check_float(self.lr, "lr", 0, lo_open=True)), ("k_range", k_range)):
            object.__setattr__(self, name, value)
        default = DescentConfig.noise
        if self.inits == 1 and (self.noise.n_samples, self.noise.spacing) != (default.n_samples, default.spacing):
            raise ValueError("n_samples and spacing are the fixed samples that compare initialisations, and with inits=1 nothing is "
                             f"compared: leave them at {default.n_samples} and {default.spacing!r}, or use inits >= 2")


# The official algorithm (FACTS.md): one initialisation, 2,000 AdamW steps at lr 4e-3, t < 500, K from the ground truth.
OFFICIAL = DescentConfig(inits=1, steps=2000)


def descend(model, x0, init, mask, scheduler, *, steps: int, lr: float = DescentConfig.lr, t_range=DescentConfig.noise.t_range,
            n_samples: int = 1, grad_clip: float = 1.0, generator=None, trace: list | None = None):
    """Gradient descent on positions. x0 (B, C, H, W); init (B, R, K, 2) R initialisations per image;
    mask (B, K) the active objects. Each step draws ``n_samples`` (t, eps) per image, shared by its R
    initialisations; AdamW; the gradient norm of each initialisation is clipped to ``grad_clip``;
    positions are clamped to [0, 1]. ``generator``: one ``torch.Generator`` per image (a list of B), so that
    an image's noise does not depend on the batch it is in; one generator is used by every image in turn;
    None: each image's own generator seeded 0. ``trace`` (a list) receives the positions after every step.
    Returns (positions (B, R, K, 2), network evaluations)."""
    check_images(x0, model)
    if not isinstance(init, torch.Tensor) or init.dim() != 4 or init.shape[0] != x0.shape[0] or init.shape[-1] != 2:
        raise ValueError(f"init must have shape (B, R, K, 2) with B = {x0.shape[0]} images, got "
                         f"{tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__}")
    B, R, K, _ = init.shape
    if tuple(mask.shape) != (B, K):
        raise ValueError(f"mask must have shape (B, K) = {(B, K)}, got {tuple(mask.shape)}")
    steps, n_samples = check_int(steps, "steps", lo=0), check_int(n_samples, "n_samples")
    lo, hi = check_t_range(t_range, scheduler)
    lr, grad_clip = check_float(lr, "lr", lo=0, lo_open=True), check_float(grad_clip, "grad_clip", lo=0)
    gens = per_image_generators(generator, B)
    pos = init.detach().clone().to(x0).requires_grad_(True)
    opt = torch.optim.AdamW([pos], lr=lr)
    evals0, grad_rows = model.network_evals, 0
    rows_mask = mask.unsqueeze(1).expand(B, R, K).repeat_interleave(n_samples, 0).reshape(-1, K)
    with torch.enable_grad():
        for _ in range(steps):
            t = torch.cat([torch.randint(lo, hi, (n_samples,), generator=g) for g in gens]).to(x0.device)
            eps = torch.cat([torch.randn((n_samples, *x0.shape[1:]), generator=g) for g in gens]).to(x0)
            x_t = scheduler.add_noise(x0.repeat_interleave(n_samples, 0), eps, t)
            eps_u = None
            if needs_uncond(model.mode):
                with torch.no_grad():
                    eps_u = model.predict_null(x_t, t).repeat_interleave(R, 0)
            rep = lambda a: a.repeat_interleave(R, 0)  # noqa: E731  (image-noise rows -> x R inits)
            p = pos.unsqueeze(1).expand(B, n_samples, R, K, 2).reshape(-1, K, 2)
            err = composed_error(model, rep(x_t), rep(t), rep(eps), p, rows_mask, eps_u)
            grad_rows += int(rows_mask.sum())
            opt.zero_grad()
            err.sum().backward(inputs=[pos])  # the positions' gradient only: no weight gradients (1.4x faster)
            if grad_clip:
                g = pos.grad.flatten(2).norm(dim=2, keepdim=True).clamp(min=1e-12)
                pos.grad.mul_((grad_clip / g).clamp(max=1.0).unsqueeze(-1).reshape(B, R, 1, 1))
            opt.step()
            with torch.no_grad():
                pos.clamp_(0, 1)
            if trace is not None:
                trace.append(pos.detach().clone())
    return pos.detach(), (model.network_evals - evals0) + 2 * grad_rows


def check_images(x0, model, name: str = "x0") -> None:
    """A batch of images (B, C, H, W) for ``model`` (``igm_lite.checks.check_sample``)."""
    if isinstance(x0, torch.Tensor) and x0.dim() != 4:
        raise ValueError(f"{name} must be a batch of images (B, C, H, W), got shape {tuple(x0.shape)}")
    check_sample(x0, model, name, batched=True)


def per_image_generators(generator, n: int) -> list:
    """One generator per image: a list of n as given, one generator shared by all, or None: n seeded 0."""
    if generator is None:
        return [torch.Generator().manual_seed(0) for _ in range(n)]
    if isinstance(generator, torch.Generator):
        return [generator] * n
    gens = list(generator)
    if len(gens) != n or not all(isinstance(g, torch.Generator) for g in gens):
        raise ValueError(f"generator must be a torch.Generator or a list of one per image ({n}), got {len(gens)} items")
    return gens


def rows_per_image(total: float, ks, inits: int, model) -> list[float]:
    """Split the rows ``total`` of one batched ``descend`` among its images: per step, image b spends 3 rows per
    back-propagated object (``inits`` x ks[b] of them) and 1 for its null prediction where the mode needs one."""
    share = torch.tensor(ks, dtype=torch.float64) * 3 * inits + needs_uncond(model.mode)
    return (total * share / share.sum()).tolist()


@torch.no_grad()
def score_positions(model, x0, pos, mask, samples, scheduler, max_rows: int = MAX_ROWS):
    """Errors (R,) of R position sets pos (R, K, 2) (mask (K,)) of ONE image on fixed noise ``samples``,
    from one cache holding each position once per sample. Returns (errors, scorer)."""
    R, K, _ = pos.shape
    pool = position_concepts(pos[:, mask].reshape(-1, 2))
    scorer = CachedScorer(model, x0, pool, samples, scheduler, max_rows)
    k = int(mask.sum())
    return scorer.errors(torch.arange(R * k).view(R, k)), scorer


def prune(scorer: CachedScorer, conflicts: torch.Tensor | None = None) -> tuple[list[int], float]:
    """Start from the whole pool of ``scorer`` (an answer's objects) and drop, one at a time, the object
    whose removal lowers the error most, while one does; then, while two objects ``conflicts`` (M, M)
    (closer than two objects can stand) remain, drop whichever of a conflicting pair costs least to lose, and
    go on dropping objects whose removal lowers the error. Duplicates go first by the error, so that a
    true object is not forced out by a duplicate that drifted next to it. Returns (kept indices, their error)."""
    keep = list(range(scorer.M))
    err = float(scorer.errors(torch.tensor([keep]))[0])
    clash = conflicts if conflicts is not None else torch.zeros(scorer.M, scorer.M, dtype=torch.bool)
    while len(keep) > 1:
        less = torch.tensor([keep[:i] + keep[i + 1:] for i in range(len(keep))])
        e = scorer.errors(less)
        i = int(e.argmin())
        if float(e[i]) < err:
            keep, err = less[i].tolist(), float(e[i])
            continue
        forced = torch.tensor([bool(clash[m, keep].any()) for m in keep])
        if not forced.any():
            break
        i = int(torch.where(forced, e, torch.full_like(e, float("inf"))).argmin())
        keep, err = less[i].tolist(), float(e[i])
    return keep, err


def random_init(b: int, r: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """The official initialisation: positions ~ N(0.5, 0.13^2), clamped to [0, 1]: (b, r, k, 2)."""
    return (0.5 + 0.13 * torch.randn((b, r, k, 2), generator=generator)).clamp(0, 1)


@dataclass
class DescentResult(InferenceResult):
    """``DescentEngine``'s answer for one image: ``answer`` the positions (K, 2), ``candidates`` (inits, 1) the
    initialisation numbers, ``errors`` (inits,) their errors on the fixed samples (with one initialisation there is
    nothing to compare, so nothing is scored: ``error`` and ``errors`` are NaN).

    Attributes:
        inits: (inits, K, 2) every initialisation's end point.
        error_by_k: a K scan's least error at each K tried (None when K was given); ``network_evals`` is then the
            whole scan's.
    """

    inits: torch.Tensor
    error_by_k: dict | None = None


def multistart(model, x0, k, scheduler, config: DescentConfig | None = None, **overrides) -> list[DescentResult]:
    """Random-init gradient search for images x0 (B, C, H, W) with ``k`` objects each (an int, or one count
    per image): ``inits`` initialisations per image, all images and inits optimised in one batch; each image
    keeps the initialisation with the least error on ``n_samples`` fixed noise samples. ``config``: a
    ``DescentConfig`` (None: its defaults; ``OFFICIAL``: the official algorithm), keyword arguments override its
    fields. Returns one ``DescentResult`` per image."""
    c = configure(DescentConfig, config, overrides)
    check_t_range(c.noise.t_range, scheduler)
    start = time.perf_counter()
    check_images(x0, model)
    B = x0.shape[0]
    ks = [check_int(k, "k")] * B if not isinstance(k, (list, tuple, torch.Tensor)) else [check_int(v, "k") for v in k]
    if len(ks) != B:
        raise ValueError(f"k must be a count >= 1 or one such count per image ({B}), got {len(ks)} counts")
    mask = torch.arange(max(ks)).unsqueeze(0) < torch.tensor(ks).unsqueeze(1)  # (B, K_max)
    # every image draws its initialisations and its noise from its own generator, seeded alike: its answer does
    # not depend on the other images of the batch
    gens = [torch.Generator().manual_seed(c.noise.seed) for _ in range(B)]
    init = torch.zeros(B, c.inits, max(ks), 2)
    for b, g in enumerate(gens):
        init[b, :, : ks[b]] = random_init(1, c.inits, ks[b], g)[0]
    pos, evals = descend(model, x0, init, mask, scheduler, steps=c.steps, lr=c.lr, t_range=c.noise.t_range, generator=gens)
    rows = rows_per_image(evals, ks, c.inits, model)
    samples = c.noise.draw(x0.shape[1:])
    out = []
    for b in range(B):
        if c.inits > 1:
            errs, scorer = score_positions(model, x0[b], pos[b], mask[b], samples, scheduler)
            spent = rows[b] + scorer.network_evals
        else:
            errs, spent = torch.full((1,), float("nan")), rows[b]
        i = int(errs.argmin()) if c.inits > 1 else 0
        out.append(DescentResult(pos[b, i, : ks[b]], float(errs[i]), torch.arange(c.inits).view(-1, 1), errs, round(spent),
                                 (time.perf_counter() - start) / B, inits=pos[b, :, : ks[b]]))
    return out


def k_scan(model, x0, scheduler, k_range=None, config: DescentConfig | None = None, **overrides) -> list[DescentResult]:
    """``multistart`` at every K in ``k_range`` (inclusive; None: the config's); each image keeps the K whose best
    initialisation has the least error on the fixed samples (the paper's choice of K by brute force: one search per
    K). The kept result's ``network_evals`` is the whole scan's; ``error_by_k`` the least error at each K."""
    c = configure(DescentConfig, config, {**overrides, **({} if k_range is None else {"k_range": k_range})})
    if c.inits < 2:
        raise ValueError("a K scan compares K by the error of the best initialisation on fixed noise: use inits >= 2")
    k_lo, k_hi = c.k_range
    runs = [multistart(model, x0, k, scheduler, c) for k in range(k_lo, k_hi + 1)]
    out = []
    for b in range(x0.shape[0]):
        best = min((run[b] for run in runs), key=lambda o: o.error)
        out.append(dataclasses.replace(best, network_evals=sum(run[b].network_evals for run in runs),
                                       error_by_k={k_lo + i: run[b].error for i, run in enumerate(runs)}))
    return out


class DescentEngine(Engine):
    """Gradient descent on positions from random initialisations (the paper's continuous inversion):
    ``infer(x0, k=None)`` one image, ``infer_many(x0, k=None)`` a batch (optimised together) -> ``DescentResult``.
    ``k``: the number of objects, for every image or one per image (``multistart``); None: every K of ``k_range``,
    keeping the K of least error (``k_scan``). Its recorded settings are ``inference.json``'s ``"descent"`` block (the
    shipped models record none: ``DescentConfig``'s defaults; ``config=OFFICIAL``: the official algorithm)."""

    Config, kind, image_dims = DescentConfig, "descent", 3

    def infer_many(self, x0: torch.Tensor, *, k=None) -> list[DescentResult]:
        if k is None:
            return k_scan(self.model, x0, self.scheduler, config=self.config)
        return multistart(self.model, x0, k, self.scheduler, self.config)


@dataclass(frozen=True)
class PositionConfig:
    """The settings of ``PositionEngine``, with their defaults (chosen on 32 validation scenes per split of seed 1:
    ``python -m igm_lite.bench results clevr-validation``)."""

    grid: int = 12  # the grid is grid x grid positions over ``region`` (``position_grid``)
    # the grid cache's shared samples: N = 3, t from [50, 450) (the paper's inference uses t < 500), the refinement's
    # and the last check's t too; its seed seeds them all (the refinement and the last check add REFINE_SEED, CHECK_SEED)
    noise: NoiseConfig = NoiseConfig(n_samples=3, t_range=(50, 450))
    refine_steps: int = 10  # gradient steps from the grid answer (0: none), one fresh noise sample each
    refine_lr: float = 4e-3  # their learning rate (AdamW)
    prune: bool = True  # after refining, drop objects whose removal lowers the error (when K is inferred)
    prune_samples: int = 12  # fresh noise samples for that last check
    k_max: int = 10  # the most objects an answer may hold
    # With K inferred, grow the grid answer to k_max objects and let refinement and pruning remove the extras. Stopping
    # when an addition no longer lowers the error under-counts: an object between grid points raises the error more
    # than leaving it out (on 32 scenes of 6-8 objects the greedy stop fell 1-7 objects short in 17 of them).
    overshoot: bool = True
    # Two objects closer than this are one object: the grid search never holds both, and pruning drops one of them
    # first. A property of the data, below the least distance between two training objects (0.11 in ClevrWorld) and
    # above the grid spacing (0.08; at 0.075 duplicates on neighbouring grid points survived and over-counted).
    min_separation: float = 0.095
    # (x0, x1, y0, y1), the rectangle the grid covers: where objects of the training scenes stand (``grid_region``).
    # Grid points where no training object ever stood (the sky above the floor) attracted spare objects.
    region: tuple = (0.06, 0.94, 0.06, 0.94)
    max_rows: int = MAX_ROWS  # the most backbone rows in one call

    def __post_init__(self):
        if len(tuple(self.region)) != 4:
            raise ValueError(f"region must be (x0, x1, y0, y1), got {self.region!r}")
        if not isinstance(self.noise, NoiseConfig):
            raise TypeError(f"noise must be an igm_lite.NoiseConfig, got {type(self.noise).__name__}")
        for name, value in (("grid", check_int(self.grid, "grid")), ("refine_steps", check_int(self.refine_steps, "refine_steps", lo=0)),
                            ("refine_lr", check_float(self.refine_lr, "refine_lr", 0, lo_open=True)),
                            ("prune_samples", check_int(self.prune_samples, "prune_samples")), ("k_max", check_int(self.k_max, "k_max")),
                            ("min_separation", check_float(self.min_separation, "min_separation", lo=0)),
                            ("region", tuple(check_float(v, "region", 0, 1) for v in self.region)),
                            ("max_rows", check_int(self.max_rows, "max_rows"))):
            object.__setattr__(self, name, value)
        if self.refine_steps == 0 and self.refine_lr != PositionConfig.refine_lr:
            raise ValueError(f"refine_lr is the refinement's step size, and refine_steps=0 refines nothing: leave it at {PositionConfig.refine_lr}")


@dataclass
class _Search:
    """One image's search inside ``PositionEngine.infer_many``: the grid answer, then its refined positions."""

    pos: torch.Tensor  # (K, 2) the current positions
    k: int | None  # the given number of objects (None: inferred)
    candidates: torch.Tensor  # the grid sets the greedy search visited
    errors: torch.Tensor  # their errors
    evals: float  # backbone rows spent so far
    grid_answer: torch.Tensor  # (K, 2) the grid search's answer, before refinement
    grid_error: float


@dataclass
class PositionResult(InferenceResult):
    """``PositionEngine``'s answer for one image: ``answer`` the positions (K, 2), ``error`` their error on the last
    check's fresh samples, ``candidates`` / ``errors`` the grid sets the greedy search visited and their errors.

    Attributes:
        grid_answer: (K', 2) the grid search's answer, before refinement and pruning.
        grid_error: its error on the grid's samples.
        pruned: how many objects the last check dropped.
    """

    grid_answer: torch.Tensor
    grid_error: float
    pruned: int


class PositionEngine(Engine):
    """Grid search by the cached discrete engine, then gradient refinement, then a pruning check:
    ``infer(x0, k=None)`` one image, ``infer_many(x0, k=None)`` a batch -> ``PositionResult``; ``k`` the number of
    objects, for every image or one per image, None: inferred.

    Args:
        model: a composed position denoiser (concepts (x, y, 1)).
        scheduler: the noise schedule.
        config: a ``PositionConfig`` (None: the settings the model carries from its folder, ``inference.json``,
            over the dataclass's defaults); keyword arguments override its fields, e.g.
            ``PositionEngine(model, scheduler, grid=16, region=grid_region())``.
    """

    Config, kind, image_dims = PositionConfig, "positions", 3

    def __init__(self, model, scheduler, config: PositionConfig | None = None, **overrides):
        super().__init__(model, scheduler, config, **overrides)
        c = self.config
        self.pool = position_grid(c.grid, c.region[0::2], c.region[1::2])

    def conflicts(self, pos: torch.Tensor) -> torch.Tensor:
        """(P, P) bool: pairs of positions closer than ``min_separation`` (one object, not two)."""
        d = torch.cdist(pos.float(), pos.float())
        return (d < self.config.min_separation) & ~torch.eye(len(pos), dtype=torch.bool, device=pos.device)

    def cache(self, x0: torch.Tensor) -> CachedScorer:
        """The grid's cache for image x0: every grid position once per noise sample."""
        samples = self.config.noise.draw(x0.shape)
        return CachedScorer(self.model, x0, self.pool.to(x0), samples, self.scheduler, self.config.max_rows)

    def error_by_k(self, x0: torch.Tensor, k_max: int = 10) -> torch.Tensor:
        """The error of the best grid answer with exactly K objects, K = 1..k_max (greedy, then swaps),
        all read from one cache: how the error falls and stops falling as objects are added."""
        k_max = check_int(k_max, "k_max", 1, self.pool.shape[0])
        scorer = self.cache(x0)
        return torch.tensor([greedy_search(scorer, k=k)[1] for k in range(1, k_max + 1)])

    def infer_many(self, x0: torch.Tensor, *, k=None) -> list[PositionResult]:
        """Each image's grid search and pruning run on its own; the gradient refinement of all B answers is ONE batched
        descent (fewer, larger backbone calls: faster per image), each image with its own noise: an image gets the
        same answer alone or in any batch."""
        check_images(x0, self.model)
        ks = None if k is None else [check_int(v, "k", 1, self.pool.shape[0]) for v in per_image(k, len(x0))]
        start, B, searches = time.perf_counter(), len(x0), []
        for b in range(B):
            scorer, k = self.cache(x0[b]), None if ks is None else int(ks[b])
            grow = k if k is not None else (min(self.config.k_max, scorer.M) if self.config.overshoot else None)
            idx, err, cands, errors = greedy_search(scorer, k=grow, k_max=None if grow else min(self.config.k_max, scorer.M),
                                                    conflicts=self.conflicts(self.pool[:, :2]))
            pos = self.pool[idx, :2].to(x0)
            searches.append(_Search(pos, k, cands, errors, scorer.network_evals, pos.clone(), err))
        if self.config.refine_steps:
            sizes = [len(s.pos) for s in searches]
            init, mask = x0.new_zeros(B, 1, max(sizes), 2), torch.zeros(B, max(sizes), dtype=torch.bool)
            for b, s in enumerate(searches):
                init[b, 0, : sizes[b]], mask[b, : sizes[b]] = s.pos, True
            c = self.config
            new, spent = descend(self.model, x0, init, mask, self.scheduler, steps=c.refine_steps, lr=c.refine_lr, t_range=c.noise.t_range,
                                 generator=[torch.Generator().manual_seed(c.noise.seed + REFINE_SEED) for _ in range(B)])
            for b, (s, rows) in enumerate(zip(searches, rows_per_image(spent, sizes, 1, self.model))):
                s.pos, s.evals = new[b, 0, : sizes[b]], s.evals + rows
        checked = []
        for b, s in enumerate(searches):
            # score the answer (and every answer less one object) from one small cache, on FRESH noise samples:
            # the grid search chose its objects on the first ones, so an extra object fits their noise too
            c = self.config
            fresh = c.noise.draw(x0.shape[1:], c.prune_samples, seed_offset=CHECK_SEED)
            final = CachedScorer(self.model, x0[b], position_concepts(s.pos), fresh, self.scheduler, c.max_rows)
            if c.prune and s.k is None:
                keep, err = prune(final, self.conflicts(s.pos))
            else:
                keep, err = list(range(len(s.pos))), float(final.errors(torch.arange(len(s.pos))[None])[0])
            checked.append((s, keep, err, final.network_evals))
        seconds = (time.perf_counter() - start) / B  # per image: the refinement is shared by the batch
        return [PositionResult(s.pos[keep], err, s.candidates, s.errors, round(s.evals + evals), seconds,
                               grid_answer=s.grid_answer, grid_error=s.grid_error, pruned=len(s.pos) - len(keep))
                for s, keep, err, evals in checked]
