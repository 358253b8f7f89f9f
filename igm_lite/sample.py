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
    trace: list | None = None,
) -> torch.Tensor:
    """Draw one sample of ``shape`` per scene: concepts (B, K, D), mask (B, K) -> x0 (B, *shape).

    ``steps`` evenly spaced timesteps of the schedule are used (diffusers' ``set_timesteps``).
    ``eps_fn(x_t, t)`` replaces the model's composed prediction when given (e.g. an exact score).
    ``trace``: a list that receives ``(t, x_t, x0_hat)`` after each step (the image after the step, the clean image
    the step predicted), to watch a sample form.
    """
    sched = copy.deepcopy(scheduler)  # set_timesteps mutates the scheduler
    sched.set_timesteps(steps)
    B = concepts.shape[0]
    x = torch.randn((B, *shape), generator=generator)
    for t in sched.timesteps:
        tt = torch.full((B,), int(t), dtype=torch.long)
        eps = eps_fn(x, tt) if eps_fn is not None else model(x, tt, concepts, mask)
        out = sched.step(eps, int(t), x, generator=generator)
        x = out.prev_sample
        if trace is not None:
            trace.append((int(t), x.clone(), out.pred_original_sample.clone()))
    return x
