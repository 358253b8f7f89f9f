"""Sampling from a composition: ancestral DDPM steps (diffusers' ``DDPMScheduler.step``) driven by the
composed prediction, so a product of experts is sampled by summing (or averaging) their denoisers."""
from __future__ import annotations

import copy

import torch

from .compose import ComposedDenoiser


@torch.no_grad()
def sample(
    model: ComposedDenoiser,
    concepts: torch.Tensor,
    mask: torch.Tensor | None,
    shape: tuple[int, ...],
    scheduler,
    *,
    steps: int = 100,
    generator: torch.Generator | None = None,
    eps_fn=None,
) -> torch.Tensor:
    """Draw one sample of ``shape`` per scene: concepts (B, K, D), mask (B, K) -> x0 (B, *shape).

    ``steps`` evenly spaced timesteps of the schedule are used (diffusers' ``set_timesteps``).
    ``eps_fn(x_t, t)`` replaces the model's composed prediction when given (e.g. an exact score).
    """
    sched = copy.deepcopy(scheduler)  # set_timesteps mutates the scheduler
    sched.set_timesteps(steps)
    B = concepts.shape[0]
    x = torch.randn((B, *shape), generator=generator)
    for t in sched.timesteps:
        tt = torch.full((B,), int(t), dtype=torch.long)
        eps = eps_fn(x, tt) if eps_fn is not None else model(x, tt, concepts, mask)
        x = sched.step(eps, int(t), x, generator=generator).prev_sample
    return x
