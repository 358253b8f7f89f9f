"""What every inference engine shares: the denoising error and the result it returns.

IGM infers the concepts of an image x by the least denoising error of the composed model (the paper's
inversion objective, a bound on -log p(x | c^1..c^K) up to constants and weights):

    L(c^1..c^K) = E_{t, eps} || eps - eps_theta(sqrt(abar_t) x + sqrt(1 - abar_t) eps, t | c^1..c^K) ||^2   (error)

estimated on N shared (t, eps) samples, so that every candidate is judged on the same noise (common
random numbers: differences between candidates are much less noisy than the errors themselves).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checks import check_int, check_sample, check_t_range, check_timesteps, configure
from ..compose import ComposedDenoiser
from ..concepts import check_concepts
from ..schedule import NoiseSamples, make_scheduler

# The most backbone rows in one call, the default of every engine: large enough to keep the CPU's cores busy,
# small enough for a laptop's memory (a GPU takes more: set each engine's max_rows).
MAX_ROWS = 128


@dataclass
class InferenceResult:
    """What every engine's answer for one image holds; each engine's result adds its own fields
    (``DiscreteResult``, ``PositionResult``, ``DescentResult``).

    Attributes:
        answer: the inferred concepts: indices into the candidate pool (K,) long, sorted by the set's order (discrete
            engines), or positions (K, 2) (position engines).
        error: the denoising error of the answer on the engine's fixed noise samples.
        candidates: what was scored: (S, K_max) long candidate sets, -1 padding smaller sets (discrete engines; the
            grid sets the search visited for ``PositionEngine``); (inits, 1) initialisation numbers for ``DescentEngine``.
        errors: (S,) the error of each candidate.
        network_evals: backbone rows spent (one sample-sized input through the backbone is 1; a row
            that is also back-propagated counts 3).
        seconds: wall-clock time (per image for the batched engines).
    """

    answer: torch.Tensor
    error: float
    candidates: torch.Tensor
    errors: torch.Tensor
    network_evals: int
    seconds: float

    @property
    def k(self) -> int:
        """The number of concepts in the answer."""
        return int(self.answer.shape[0])


class Engine:
    """The door every inference engine shares.

    ``Engine(model, scheduler, config=None, **overrides)``: ``config`` is an instance of the engine's ``Config``
    dataclass; None: the settings the model carries from its folder (``inference.json``) over the engine's defaults.
    Keyword arguments override single fields, e.g. ``n_samples=16`` (the noise settings may be given by name).

    ``infer(x0, ...)`` answers one image (*shape); ``infer_many(x0, ...)`` a batch (B, *shape) with one answer per
    image, each the same as that image's answer alone. The other arguments (a candidate pool, a number of concepts
    ``k`` for every image or one per image) are the same for both. An engine computes one of the two natively and
    overrides it; the base class gives the other.
    """

    Config: type  # the engine's configuration dataclass
    defaults = None  # its defaults when they are not the dataclass's own (an instance of Config)
    reads_recorded = True  # False: ignore the model's recorded settings (chosen for another engine)
    image_dims: int | None = None  # the axes of one image where the engine fixes them (3: (C, H, W))

    def __init_subclass__(cls, **kwargs):
        """An engine computes ``infer`` or ``infer_many`` itself (the base class gives the other from it): one that
        overrides neither is refused when it is defined, instead of recursing between the two at its first call."""
        super().__init_subclass__(**kwargs)
        if not any(name in vars(klass) for klass in cls.__mro__[:-1] if klass is not Engine for name in ("infer", "infer_many")):
            raise TypeError(f"{cls.__name__} must define infer (one image) or infer_many (a batch); Engine gives the other")

    def __init__(self, model, scheduler, config=None, **overrides):
        self.config = configure(self.Config, config, overrides, model if self.reads_recorded else None, self.defaults)
        check_t_range(self.config.noise.t_range, scheduler)
        self.model, self.scheduler = model, scheduler

    @classmethod
    def settings_for(cls, model, **given):
        """The settings this engine uses for ``model``: each one given that is not None, else the model's recorded one
        (its ``inference.json``), else the engine's defaults. A chapter passes its parameters here, None where the reader
        left them to the model (``igm_lite.chapters.chapter_settings``)."""
        return cls(model, make_scheduler(), **{k: v for k, v in given.items() if v is not None}).config

    def infer(self, x0: torch.Tensor, *args, **kwargs):
        """The answer for one image x0 (*shape)."""
        if self.image_dims and isinstance(x0, torch.Tensor) and x0.dim() != self.image_dims:
            raise ValueError(f"x0 must be one image ({self.image_dims} axes), got shape {tuple(x0.shape)}; infer_many takes a batch")
        check_sample(x0, self.model, "x0")
        return self.infer_many(x0[None], *args, **kwargs)[0]

    def infer_many(self, x0: torch.Tensor, *args, **kwargs) -> list:
        """One answer per image of the batch x0 (B, *shape)."""
        check_sample(x0, self.model, "x0", batched=True)
        return [self.infer(x, *args, **kwargs) for x in x0]


def check_noise_samples(samples, x0: torch.Tensor, scheduler, name: str = "samples") -> None:
    """Noise samples for x0: a ``NoiseSamples`` of at least one (t, eps) pair, eps of x0's shape, t in the schedule."""
    if not isinstance(samples, NoiseSamples):
        raise TypeError(f"{name} must be igm_lite.NoiseSamples (draw_noise), got {type(samples).__name__}")
    if len(samples) < 1 or tuple(samples.noise.shape) != (len(samples), *x0.shape):
        raise ValueError(f"{name} must hold N >= 1 noise tensors of x0's shape {tuple(x0.shape)}: noise (N, *x0.shape), "
                         f"got noise {tuple(samples.noise.shape)} for {len(samples)} timesteps")
    check_timesteps(samples.t, scheduler, f"{name}.t")


@torch.no_grad()
def denoising_error(
    model: ComposedDenoiser,
    x0: torch.Tensor,
    concepts: torch.Tensor,
    mask: torch.Tensor | None,
    samples: NoiseSamples,
    scheduler,
    max_rows: int = MAX_ROWS,
) -> torch.Tensor:
    """Monte-Carlo estimate of (error) for S candidate concept sets of ONE sample x0.

    Every set is composed by the model itself (no caching): this is the direct, "naive" estimator that
    the cached engine must agree with. Args: x0 (*shape), concepts (S, K, D), mask (S, K); the noise
    ``samples`` (N, *shape) are shared by all sets. Returns (S,) mean squared errors.
    """
    check_sample(x0, model, "x0")
    concepts, mask = check_concepts(concepts, mask, model.config["concept_dim"])
    check_noise_samples(samples, x0, scheduler)
    max_rows = check_int(max_rows, "max_rows")
    S, N = concepts.shape[0], len(samples)
    total = torch.zeros(S, dtype=torch.float64)
    t_all, eps_all = samples.t.to(x0.device), samples.noise.to(x0)
    x_all = scheduler.add_noise(x0.unsqueeze(0).expand(N, *x0.shape), eps_all, t_all)
    sets_per_call = max(1, max_rows // (int(mask.sum(1).max()) + 1))
    for s0 in range(0, S, sets_per_call):
        sl = slice(s0, s0 + sets_per_call)
        cs, ms = concepts[sl].to(x0), mask[sl]
        s = cs.shape[0]
        per = max(1, sets_per_call // s)  # noise samples per call: every set of the slice at each of them
        for n0 in range(0, N, per):
            x_t, t, eps = x_all[n0 : n0 + per], t_all[n0 : n0 + per], eps_all[n0 : n0 + per]
            b = x_t.shape[0]
            pred = model(x_t.repeat_interleave(s, 0), t.repeat_interleave(s), cs.repeat(b, 1, 1), ms.repeat(b, 1))
            err = (pred - eps.repeat_interleave(s, 0)).pow(2).flatten(1).mean(1).view(b, s).sum(0)
            total[sl] += err.double().cpu()
    return (total / N).float()


def default_device() -> torch.device:
    """The device the chapters, recipes and benchmarks run on: the GPU when there is one (CUDA), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def process_state():
    """accelerate's process state; ``cpu=True`` without a GPU, so that processes started by torchrun or
    ``accelerate launch`` on a CPU machine join over gloo instead of each running alone."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def distributed_map(fn, n: int) -> list:
    """``[fn(0), ..., fn(n - 1)]`` with the indices split across the processes of an ``accelerate launch``
    (or ``torchrun``) run, gathered on every process in index order. One process: a plain loop.

    Evaluating a test set on several GPUs: ``accelerate launch --num_processes 4 -m igm_lite.bench ...``.
    Each result must be picklable (plain numbers, lists, dicts)."""
    from accelerate.utils import gather_object

    state = process_state()
    with state.split_between_processes(list(range(n))) as mine:
        local = [(i, fn(i)) for i in mine]
    pairs = gather_object(local) if state.num_processes > 1 else local
    return [r for _, r in sorted(pairs, key=lambda p: p[0])]
