"""The noise schedule and the shared noise samples that every denoising error is measured on.

The schedule itself is diffusers' ``DDPMScheduler``; nothing here re-implements it. Its defaults are the
paper's (FACTS.md): 1000 steps, linear betas from 0.00085 to 0.012, epsilon prediction.

Forward process (the book's eq. "noising"):

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,      eps ~ N(0, I)

is ``scheduler.add_noise(x0, eps, t)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import DDPMScheduler

from .checks import check_int, check_t_range

# The paper's schedule (official code): DDPM, 1000 steps, linear betas, epsilon prediction.
PAPER_SCHEDULE = dict(
    num_train_timesteps=1000,  # T
    beta_start=0.00085,  # beta_1
    beta_end=0.012,  # beta_T
    beta_schedule="linear",  # betas evenly spaced from beta_start to beta_end
    prediction_type="epsilon",  # the network predicts the noise eps
    clip_sample=False,  # data need not lie in [-1, 1] (2-D toys, latents)
)
SPACINGS = ("random", "even")
WHOLE_SCHEDULE = (0, PAPER_SCHEDULE["num_train_timesteps"])  # every timestep [0, T): training's and the paper's CelebA inference range


def make_scheduler(**overrides) -> DDPMScheduler:
    """A diffusers ``DDPMScheduler`` with the paper's defaults; keyword arguments override them."""
    return DDPMScheduler(**{**PAPER_SCHEDULE, **overrides})


@dataclass(frozen=True)
class NoiseConfig:
    """The shared noise an engine judges every candidate on: one of these sits in every engine's configuration
    (``config.noise``), each engine with its own defaults. ``draw`` gives the samples (``draw_noise``)."""

    n_samples: int = 32  # N, the shared (t, eps) samples
    t_range: tuple = WHOLE_SCHEDULE  # timesteps are drawn from [lo, hi)
    spacing: str = "random"  # "random" (uniform draws, the paper) or "even" timesteps (Diffusion Classifier)
    seed: int = 0  # the same samples for every image (an engine's other random streams add offsets to it)

    def __post_init__(self):
        if self.spacing not in SPACINGS:
            raise ValueError(f"spacing must be one of {SPACINGS}, got {self.spacing!r}")
        for name, value in (("n_samples", check_int(self.n_samples, "n_samples")), ("t_range", check_t_range(self.t_range)),
                            ("seed", check_int(self.seed, "seed", lo=None))):
            object.__setattr__(self, name, value)

    def draw(self, shape: tuple[int, ...], n: int | None = None, seed_offset: int = 0) -> "NoiseSamples":
        """``n`` (default ``n_samples``) samples for one sample of ``shape``, from ``seed + seed_offset``."""
        return draw_noise(tuple(shape), n or self.n_samples, t_range=self.t_range, spacing=self.spacing, seed=self.seed + seed_offset)


@dataclass
class NoiseSamples:
    """N shared (timestep, noise) pairs: the common random numbers of a denoising-error estimate.

    Attributes:
        t: (N,) long timesteps in [0, T).
        noise: (N, *shape) standard normal noise, one draw per timestep.
    """

    t: torch.Tensor
    noise: torch.Tensor

    def __len__(self) -> int:
        return self.t.shape[0]

    def to(self, device) -> "NoiseSamples":
        return NoiseSamples(self.t.to(device), self.noise.to(device))


def draw_noise(
    shape: tuple[int, ...],
    n: int,
    *,
    t_range: tuple[int, int] = WHOLE_SCHEDULE,
    spacing: str = "random",
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> NoiseSamples:
    """Draw ``n`` (t, eps) pairs for a sample of ``shape``.

    Args:
        shape: shape of one sample (e.g. ``(C, H, W)``, or ``(P, 2)`` for a cloud of 2-D points).
        n: number of noise samples N.
        t_range: timesteps are drawn from [lo, hi) (the paper's CLEVR inference uses (0, 500)).
        spacing: ``"random"`` (uniform draws, the paper) or ``"even"`` (evenly spaced, as Diffusion
            Classifier does; lower variance for the same N).
        generator / seed: the source of randomness; give one for reproducible estimates.
    """
    lo, hi = check_t_range(t_range)  # within a schedule's T: checked by the engines, which know the schedule
    n = check_int(n, "n")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    if spacing == "random":
        t = torch.randint(lo, hi, (n,), generator=generator)
    elif spacing == "even":
        t = torch.linspace(lo, hi - 1, n).round().long()
    else:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    noise = torch.randn((n, *shape), generator=generator)
    return NoiseSamples(t=t, noise=noise)


def elbo_weights(scheduler, t) -> torch.Tensor:
    """The weight of each timestep's noise-prediction error in the variational bound on log p(x) (Ho et al. 2020, eq. 12,
    with the reverse variance at beta_t): w_t = beta_t / (2 alpha_t (1 - alphabar_t)), so that
    log p(x | c) >= -sum_t w_t E ||eps - eps(x_t, t | c)||^2 + C (C does not depend on the condition c)."""
    t = torch.as_tensor(t, dtype=torch.long)
    beta, alpha_bar = scheduler.betas.double()[t], scheduler.alphas_cumprod.double()[t]
    return beta / (2 * (1 - beta) * (1 - alpha_bar))
