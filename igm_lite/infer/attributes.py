"""Attributes of faces (chapter 3): the discrete engine over the 8 configurations of 3 binary attributes.

Each attribute is a pair of one-hot slots (present, absent) of the pool ``attribute_pool()``; a face's
configuration is one slot per attribute, and its attributes are the configuration of least denoising error
(``igm_lite.infer.discrete``). ``infer_faces`` runs any engine (or the ResNet baseline) over a batch of faces;
``attribute_votes`` splits an engine's decision into the vote of each noise sample. ``log_likelihoods`` puts each
configuration's error on the scale of a log-likelihood, so that a prior can be added (``infer_faces(..., "elbo",
prior=...)``). A latent model (its config names an autoencoder, ``igm_lite.latent``) gets each face's latent, encoded once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..data.attributes import ATTRIBUTES, attribute_pool, attrs_from_slots
from ..latent import encode
from ..schedule import NoiseSamples, elbo_weights, make_scheduler
from .base import Engine
from .discrete import METHODS, CachedScorer, DiscreteConfig, DiscreteEngine, DiscreteResult, product_sets

FACE_METHODS = (*METHODS, "elbo", "resnet")


@dataclass
class AttributeResult(DiscreteResult):
    """``AttributeEngine``'s answer for one face: ``DiscreteResult``'s fields over the 8 configurations
    (``candidates`` in ``product_sets([2, 2, 2])`` order; ``answer`` the configuration's pool slots), and:

    Attributes:
        attrs: (3,) the inferred attributes in {0, 1} (``ATTRIBUTES`` order).
    """

    attrs: torch.Tensor | None = None


@dataclass
class FaceReadings:
    """What ``infer_faces`` returns for a batch of B faces read by one method: the batch's answers as tensors.

    Attributes:
        attrs: (B, 3) the inferred attributes in {0, 1} (``ATTRIBUTES`` order).
        errors: (B, 8) the error of each configuration (``product_sets([2, 2, 2])`` order; for a set that staged
            elimination or racing dropped, its mean over the samples it was scored on; ``"elbo"``: minus its
            log-posterior, up to a constant), or None for the ResNet.
        network_evals: (B,) backbone rows spent per face (0 for the ResNet).
        seconds: (B,) wall-clock seconds per face.
        config: the engine's settings (None for the ResNet and ``"elbo"``'s likelihoods).
        samples_used: (B,) the noise samples each face's decision used (racing stops early on easy faces; None for the ResNet).
    """

    attrs: torch.Tensor
    errors: torch.Tensor | None
    network_evals: torch.Tensor
    seconds: torch.Tensor
    config: DiscreteConfig | None = None
    samples_used: torch.Tensor | None = None


class AttributeEngine(Engine):
    """The attributes of faces by the discrete engine over the 8 configurations: ``infer(face)`` one face (3, H, W)
    -> ``AttributeResult``, ``infer_many(faces)`` a batch (B, 3, H, W) -> one per face. The number of concepts is
    fixed (one value per attribute): ``k`` must be None. A latent model's faces are encoded once each
    (``igm_lite.latent.encode``). Settings as ``DiscreteEngine``'s, less its search (the 8 configurations are always
    enumerated), e.g. ``AttributeEngine(model, scheduler, method="eliminate", n_samples=16, schedule=[(4, 2), (16, 1)])``."""

    Config, kind, unread = DiscreteConfig, "discrete", ("max_sets", "k_max", "swaps")

    def __init__(self, model, scheduler, config: DiscreteConfig | None = None, **overrides):
        super().__init__(model, scheduler, config, **overrides)
        self.engine = DiscreteEngine(model, scheduler, self.config)

    def infer(self, x: torch.Tensor, *, k=None) -> AttributeResult:
        """One face (3, H, W): an image even for a latent model (it is encoded here), so not checked as the model's sample."""
        return self.infer_many(x[None], k=k)[0]

    def infer_many(self, x: torch.Tensor, *, k=None) -> list[AttributeResult]:
        if k is not None:
            raise ValueError(f"a face has one value of each of the {len(ATTRIBUTES)} attributes: k must be None, got {k!r}")
        sets, pool = product_sets([2] * len(ATTRIBUTES)), attribute_pool()
        start = time.perf_counter()
        z = encode(self.model, x)  # a latent model's latents, once per face (pixels: the faces themselves)
        per = (time.perf_counter() - start) / len(x)
        out = []
        for img in z:
            r = self.engine.infer(img, pool, sets)
            out.append(AttributeResult(**{**vars(r), "seconds": r.seconds + per}, attrs=attrs_from_slots(r.answer)))
        return out


def infer_faces(x: torch.Tensor, method: str, model=None, *, n_samples: int | None = None, t_range=None, seed: int | None = None,
                schedule=None, confidence: float | None = None, prior=None, spacing: str | None = None) -> FaceReadings:
    """Attributes (B, 3) of faces x (B, 3, H, W) by ``method``: ``"naive"``, ``"cached"``, ``"eliminate"`` or ``"race"``
    enumeration of the 8 configurations with the composed ``model`` (``AttributeEngine``) on ``n_samples`` shared
    noise samples (t from ``t_range``, drawn or evenly spaced by ``spacing``; ``schedule``: the elimination schedule; ``confidence``: racing's, with
    ``n_samples`` the most it spends), ``"elbo"``: the configuration of greatest log-posterior on the same samples
    (``log_likelihoods`` plus ``attribute_log_prior(prior)``; ``prior`` None: every configuration alike), or
    ``"resnet"`` (``model`` is an ``AttributeClassifier``). A setting left at None is the model's recorded one
    (``inference.json``), else ``DiscreteConfig``'s default."""
    if method not in FACE_METHODS:
        raise ValueError(f"method must be one of {FACE_METHODS}, got {method!r}")
    if prior is not None and method != "elbo":
        raise ValueError(f"a prior is added to the log-likelihoods of method 'elbo' only, not {method!r}")
    if method == "elbo":
        log_prior = 0.0 if prior is None else attribute_log_prior(prior)  # checked before any work
        start = time.perf_counter()
        score, rows = log_likelihoods(x, model, n_samples=n_samples, t_range=t_range, seed=seed, spacing=spacing, with_rows=True)
        score = score + log_prior
        best = score.argmax(1)
        return FaceReadings(attrs_from_slots(product_sets([2] * len(ATTRIBUTES))[best]), -score, rows,
                               torch.full((len(x),), (time.perf_counter() - start) / len(x)))
    if method == "resnet":
        start = time.perf_counter()
        with torch.no_grad():
            attrs = model.predict(x)
        per = (time.perf_counter() - start) / len(x)
        return FaceReadings(attrs, None, torch.zeros(len(x)), torch.full((len(x),), per))
    settings = AttributeEngine.settings_for(model, n_samples=n_samples, t_range=t_range, schedule=schedule, seed=seed, method=method,
                                            confidence=confidence, spacing=spacing)
    results = AttributeEngine(model, make_scheduler(), settings).infer_many(x)
    return FaceReadings(torch.stack([r.attrs for r in results]), torch.stack([r.errors for r in results]),
                        torch.tensor([r.network_evals for r in results], dtype=torch.float), torch.tensor([r.seconds for r in results]),
                        settings, torch.tensor([r.samples_used for r in results]))


@dataclass
class Votes:
    """What ``attribute_votes`` returns: t (N,) the samples' timesteps, vote (B, N, 3)."""

    t: torch.Tensor
    vote: torch.Tensor


@torch.no_grad()
def attribute_votes(x: torch.Tensor, attrs: torch.Tensor, model, *, n_samples: int | None = None, t_range=None,
                    seed: int | None = None, spacing: str | None = None) -> Votes:
    """How each noise sample votes on each attribute, for faces x (B, 3, H, W) with attributes attrs (B, 3):
    vote[b, n, a] = error(attribute a absent) - error(attribute a present), the other two attributes at their
    true values, at noise sample n alone: positive votes "present". The sum over n is the decision that
    ``infer_faces`` makes for attribute a when the others are right. The samples are the engine's (same seed,
    same t and noise for every face; ``spacing="even"`` spreads the t evenly over the range, to see every
    noise level). 6 network rows per face and sample. A setting at None: the model's recorded one, else the default."""
    scheduler = make_scheduler()
    x = encode(model, x)
    engine = DiscreteEngine(model, scheduler, AttributeEngine.settings_for(model, n_samples=n_samples, t_range=t_range, seed=seed, spacing=spacing))
    samples, n_samples = engine.noise_for(x[0]), engine.config.noise.n_samples
    pool, slots = attribute_pool(), 2 * torch.arange(len(ATTRIBUTES))
    vote = torch.zeros(len(x), n_samples, len(ATTRIBUTES))
    for b, (img, a) in enumerate(zip(x, torch.as_tensor(attrs).long().cpu())):
        true = slots + (1 - a)
        sets = true.repeat(2 * len(ATTRIBUTES), 1)  # rows 2a / 2a + 1: attribute a present / absent
        for k in range(len(ATTRIBUTES)):
            sets[2 * k, k], sets[2 * k + 1, k] = slots[k], slots[k] + 1
        err = CachedScorer(model, img, pool.to(img), samples, scheduler, keep_samples=True).errors(sets, per_sample=True)
        vote[b] = err[:, 1::2] - err[:, 0::2]
    return Votes(samples.t, vote)


def errors_by_noise_level(x: torch.Tensor, model, levels, draws: int = 8, seed: int = 0) -> torch.Tensor:
    """Every configuration's denoising error on one face x (3, H, W) at each noise level alone: (T, 8) for the T
    timesteps ``levels``, row t the mean over ``draws`` noise draws at that level, columns in ``product_sets([2, 2,
    2])`` order. Their mean over a range of levels is the error the enumeration minimises (with t drawn from that
    range); split by level it shows which levels favour which configuration. One network row per attribute value (6,
    with the weighted form's unconditional prediction 7) per level and draw."""
    scheduler = make_scheduler()
    levels, T = torch.as_tensor(levels, dtype=torch.long).flatten(), scheduler.config.num_train_timesteps
    if len(levels) == 0 or int(levels.min()) < 0 or int(levels.max()) >= T:
        raise ValueError(f"levels must be timesteps in [0, {T}), got {levels.tolist()}")
    z = encode(model, x[None])[0]
    gen = torch.Generator().manual_seed(seed)
    samples = NoiseSamples(levels.repeat_interleave(draws), torch.randn((len(levels) * draws, *z.shape), generator=gen))
    err = CachedScorer(model, z, attribute_pool().to(z), samples.to(z.device), scheduler, keep_samples=True).errors(
        product_sets([2] * len(ATTRIBUTES)), per_sample=True)
    return err.view(len(levels), draws, -1).mean(1).cpu()


@torch.no_grad()
def log_likelihoods(x: torch.Tensor, model, *, n_samples: int | None = None, t_range=None, seed: int | None = None,
                    spacing: str | None = None, with_rows: bool = False):
    """log p(x | c) of each configuration c of faces x (B, 3, H, W), up to a constant that does not depend on c: (B, 8)
    in ``product_sets([2, 2, 2])`` order. The variational bound's sum over timesteps,
    -sum_t w_t E ||eps - eps(x_t, t | c)||^2 (``igm_lite.schedule.elbo_weights``), estimated on the engine's shared
    noise samples as -(hi - lo) times the mean over samples of w_t times each sample's summed squared error (t drawn from
    [lo, hi), the ``t_range``). Enumeration's least mean error weighs every t alike instead and has no scale of
    nats; only this form can take a log-prior. A latent model's x is its latent (each face encoded once). ``with_rows``: also the backbone rows
    spent per face (B,)."""
    scheduler = make_scheduler()
    z = encode(model, x)
    config = AttributeEngine.settings_for(model, n_samples=n_samples, t_range=t_range, seed=seed, spacing=spacing, method="cached")
    samples = DiscreteEngine(model, scheduler, config).noise_for(z[0])
    lo, hi = config.noise.t_range
    w = elbo_weights(scheduler, samples.t)
    sets, pool = product_sets([2] * len(ATTRIBUTES)), attribute_pool()
    out, rows = [], []
    for img in z:
        scorer = CachedScorer(model, img, pool.to(img), samples.to(img.device), scheduler, keep_samples=True)
        err = scorer.errors(sets, per_sample=True).double() * img.numel()  # (N, 8): each sample's summed squared error
        out.append(-(hi - lo) * (w[:, None] * err).mean(0))
        rows.append(scorer.network_evals)
    ll = torch.stack(out)
    return (ll, torch.tensor(rows, dtype=torch.float)) if with_rows else ll


def attribute_log_prior(shares) -> torch.Tensor:
    """log p(c) of each configuration (8,) in ``product_sets([2, 2, 2])`` order, for attributes drawn independently,
    attribute a present with probability shares[a] (``ATTRIBUTES`` order; e.g. the shares of the training labels)."""
    p = torch.as_tensor(shares, dtype=torch.float64)
    if p.shape != (len(ATTRIBUTES),) or not bool(((p > 0) & (p < 1)).all()):
        raise ValueError(f"prior must be {len(ATTRIBUTES)} probabilities in (0, 1), one per attribute {ATTRIBUTES}, got {shares!r}")
    present = attrs_from_slots(product_sets([2] * len(ATTRIBUTES))).double()
    return (present * p.log() + (1 - present) * (1 - p).log()).sum(1)
