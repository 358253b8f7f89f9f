"""What every inference engine shares: the denoising error and the result it returns.

IGM infers the concepts of an image x by the least denoising error of the composed model (the paper's
inversion objective, a bound on -log p(x | c^1..c^K) up to constants and weights):

    L(c^1..c^K) = E_{t, eps} || eps - eps_theta(sqrt(abar_t) x + sqrt(1 - abar_t) eps, t | c^1..c^K) ||^2   (error)

estimated on N shared (t, eps) samples, so that every candidate is judged on the same noise (common
random numbers: differences between candidates are much less noisy than the errors themselves).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checks import check_int, check_sample, check_timesteps
from ..compose import ComposedDenoiser
from ..concepts import check_concepts
from ..schedule import NoiseSamples

# The most backbone rows in one call, the default of every engine: large enough to keep the CPU's cores busy,
# small enough for a laptop's memory (a GPU takes more: set each engine's max_rows).
MAX_ROWS = 128


@dataclass
class InferenceResult:
    """The answer of an inference engine, the errors behind it, and what it cost.

    Attributes:
        answer: the inferred concepts: indices into the candidate pool (``DiscreteEngine``, ``ZeroShot``: (K,) long,
            sorted by the set's order) or positions (``PositionEngine``, ``multistart``, ``k_scan``: (K, 2)).
        error: the denoising error of the answer on the engine's fixed noise samples (``PositionEngine``: on the last
            check's fresh samples; ``multistart`` with one initialisation: NaN, nothing was compared).
        candidates: what was scored: (S, K_max) long candidate sets, -1 padding smaller sets (discrete engines; the
            grid sets the search visited for ``PositionEngine``); (inits, 1) initialisation numbers for ``multistart``.
        errors: (S,) the error of each candidate (NaN where staged elimination stopped scoring it, or where a single
            initialisation was not scored).
        network_evals: backbone rows spent (one sample-sized input through the backbone is 1; a row
            that is also back-propagated counts 3).
        seconds: wall-clock time (per image for the batched engines).
        info: what else an engine reports: ``"last_stage"`` and ``"schedule"`` (staged elimination);
            ``"grid_answer"``, ``"grid_error"``, ``"pruned"`` (``PositionEngine``); ``"inits"`` every
            initialisation's end point (``multistart``); ``"error_by_k"`` (``k_scan``).
    """

    answer: torch.Tensor
    error: float
    candidates: torch.Tensor
    errors: torch.Tensor
    network_evals: int
    seconds: float
    info: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        """The number of concepts in the answer."""
        return int(self.answer.shape[0])


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
