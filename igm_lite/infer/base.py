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
from ..io import ENGINE_KINDS, recorded_settings
from ..schedule import NoiseSamples

# The most backbone rows in one call, the default of every engine: large enough to keep the CPU's cores busy,
# small enough for a laptop's memory (a GPU takes more: set each engine's max_rows).
MAX_ROWS = 128


@dataclass
class InferenceResult:
    """What every engine's answer for ONE image holds; each engine's result subclasses it with fields of its own
    (``DiscreteResult``, ``AttributeResult``, ``PositionResult``, ``DescentResult``).

    Attributes:
        answer: the inferred concepts: indices into the candidate pool (K,) long, sorted (discrete engines), or
            positions (K, 2) (position engines).
        error: the denoising error of the answer, on the noise samples named by the engine's result (NaN where the
            engine scored nothing: one initialisation of ``DescentEngine``).
        candidates: what was compared, one row per candidate: (S, K_max) long candidate sets, -1 padding smaller sets
            (discrete engines; the grid sets the greedy search visited for ``PositionEngine``), or (inits, 1) the
            initialisation numbers (``DescentEngine``).
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


# The configuration of each kind of engine whose settings a model folder's inference.json records (``io.ENGINE_KINDS``),
# filled as the engines are defined: the first engine of a kind names its configuration.
ENGINE_CONFIGS: dict = {}


class Engine:
    """The one protocol of every inference engine.

    1. ``Engine(model, scheduler, config=None, **overrides)``. The settings: ``config`` (an instance of the engine's
       ``Config`` dataclass) if given, else the dataclass's defaults updated by the model's recorded settings for this
       kind of engine (``inference.json``'s block ``kind``); keyword overrides of single fields last
       (``igm_lite.checks.configure``). ``settings_for(model, **given)`` returns them without building the engine.
    2. Every field of the configuration is read by the engine, or refused: a field the engine never reads (``unread``)
       must stay at its default, and a configuration refuses a setting its method does not read.
    3. ``infer(x0, *inputs, k=None)`` answers ONE image -> a result (a subclass of ``InferenceResult``);
       ``infer_many(x0, *inputs, k=None)`` a batch (B, *shape) -> a list of B such results, each the same as that
       image's answer alone. ``inputs`` are what the engine chooses from (a candidate pool, candidate sets), the same
       for every image.
    4. ``k``: the number of concepts. Given (an int; for ``infer_many`` also one per image), or None: found by the
       engine's own rule, which its configuration sets (``DiscreteConfig.k_max``, ``PositionConfig.k_max``,
       ``DescentConfig.k_range``), or refused where the engine has none.
    An engine computes ``infer_many`` (the batch) and the base class gives ``infer``, or the other way round; one that
    defines neither cannot be built.
    """

    Config: type  # the engine's configuration dataclass
    kind: str | None = None  # the block of inference.json it reads (``io.ENGINE_KINDS``); None: no recorded settings
    unread: tuple = ()  # fields of Config this engine never reads: refused unless at their defaults
    image_dims: int | None = None  # the axes of one image where the engine fixes them (3: (C, H, W))

    def __init_subclass__(cls, **kwargs):
        """An engine computes ``infer`` or ``infer_many`` itself (the base class gives the other from it): one that
        overrides neither is refused when it is defined, instead of recursing between the two at its first call."""
        super().__init_subclass__(**kwargs)
        if not any(name in vars(klass) for klass in cls.__mro__[:-1] if klass is not Engine for name in ("infer", "infer_many")):
            raise TypeError(f"{cls.__name__} must define infer (one image) or infer_many (a batch); Engine gives the other")
        if cls.kind is not None:
            if cls.kind not in ENGINE_KINDS:
                raise TypeError(f"{cls.__name__}.kind must be one of {ENGINE_KINDS} (the blocks of inference.json), got {cls.kind!r}")
            ENGINE_CONFIGS.setdefault(cls.kind, cls.Config)

    def __init__(self, model, scheduler, config=None, **overrides):
        self.config = self._settings(model, config, overrides)
        check_t_range(self.config.noise.t_range, scheduler)
        self.model, self.scheduler = model, scheduler

    @classmethod
    def settings_for(cls, model, config=None, **given):
        """The settings this engine uses for ``model`` (point 1 of the protocol), without building it: each setting in
        ``given`` that is not None over ``config``, or over the model's recorded settings and the defaults. A chapter
        passes its parameters here, None where the reader left them to the model (``igm_lite.chapters.chapter_settings``)."""
        return cls._settings(model, config, {k: v for k, v in given.items() if v is not None})

    @classmethod
    def _settings(cls, model, config, overrides: dict):
        out = configure(cls.Config, config, overrides, recorded_settings(model, cls.kind) if cls.kind else {},
                        f"the recorded settings of the model ({cls.kind!r} block of its inference.json)")
        default = cls.Config()
        changed = [f for f in cls.unread if getattr(out, f) != getattr(default, f)]
        if changed:
            raise ValueError(f"{cls.__name__} never reads {', '.join(f'{f}={getattr(out, f)!r}' for f in changed)}: leave "
                             f"{'it' if len(changed) == 1 else 'them'} at the default ({', '.join(f'{f}={getattr(default, f)!r}' for f in changed)})")
        return out

    def infer(self, x0: torch.Tensor, *inputs, k=None):
        """The answer for one image x0 (*shape)."""
        if self.image_dims and isinstance(x0, torch.Tensor) and x0.dim() != self.image_dims:
            raise ValueError(f"x0 must be one image ({self.image_dims} axes), got shape {tuple(x0.shape)}; infer_many takes a batch")
        check_sample(x0, self.model, "x0")
        return self.infer_many(x0[None], *inputs, k=k)[0]

    def infer_many(self, x0: torch.Tensor, *inputs, k=None) -> list:
        """One answer per image of the batch x0 (B, *shape); ``k`` one count for every image, or one per image."""
        check_sample(x0, self.model, "x0", batched=True)
        return [self.infer(x, *inputs, k=kb) for x, kb in zip(x0, per_image(k, len(x0)))]


def per_image(k, n: int) -> list:
    """``k`` for each of n images: None (the engine's rule) or one count for all, repeated; or a list of n counts."""
    if k is None or not isinstance(k, (list, tuple, torch.Tensor)):
        return [k] * n
    ks = k.tolist() if isinstance(k, torch.Tensor) else list(k)  # each checked by the engine (a whole count in range)
    if len(ks) != n:
        raise ValueError(f"k must be a count or one count per image ({n}), got {len(ks)} counts")
    return ks


def check_recorded(settings: dict, source: str) -> None:
    """Recorded settings (``inference.json``'s ``settings``): one block per kind of engine in ``io.ENGINE_KINDS``, each
    configuring its engine's dataclass (no unknown or misspelt setting, no impossible value; a method's block too).
    ``ValueError`` naming ``source`` (the file) and what is wrong. Import ``igm_lite.infer`` first (every engine defined)."""
    for kind, block in settings.items():
        if kind not in ENGINE_CONFIGS or not isinstance(block, dict):
            raise ValueError(f"{source}: settings must hold one object per kind of engine {list(ENGINE_KINDS)}, got {kind!r}: {block!r:.60}")
        config = ENGINE_CONFIGS[kind]
        try:
            for method in [None, *(m for m in getattr(config, "METHODS", ()) if m in block)]:  # a method's block applied too
                configure(config, None, {} if method is None else {"method": method}, block, f"{source} ({kind!r})")
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: {e}" if source not in str(e) else str(e)) from None


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
