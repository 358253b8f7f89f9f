import math

import pytest
import torch
from diffusers import DDPMScheduler

from igm_lite.schedule import PAPER_SCHEDULE, draw_noise, make_scheduler


def test_paper_schedule_defaults():
    s = make_scheduler()
    assert isinstance(s, DDPMScheduler)
    assert s.config.num_train_timesteps == 1000
    assert s.config.prediction_type == "epsilon"
    assert torch.isclose(s.betas[0], torch.tensor(0.00085)) and torch.isclose(s.betas[-1], torch.tensor(0.012))
    # linear: constant increments
    d = s.betas.diff()
    assert torch.allclose(d, d[0].expand_as(d), atol=1e-8)


def test_noising_equals_diffusers_and_closed_form():
    s = make_scheduler()
    ref = DDPMScheduler(**PAPER_SCHEDULE)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, 3, 4, 4, generator=g)
    t = torch.tensor([0, 10, 250, 500, 999])
    ab = ref.alphas_cumprod[t].view(-1, 1, 1, 1)
    closed = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    assert torch.allclose(s.add_noise(x0, eps, t), ref.add_noise(x0, eps, t))
    assert torch.allclose(s.add_noise(x0, eps, t), closed, atol=1e-6)


def test_draw_noise_is_reproducible_and_in_range():
    a = draw_noise((3, 2), 50, t_range=(100, 300), seed=1)
    b = draw_noise((3, 2), 50, t_range=(100, 300), seed=1)
    assert torch.equal(a.t, b.t) and torch.equal(a.noise, b.noise)
    assert a.t.min() >= 100 and a.t.max() < 300 and a.noise.shape == (50, 3, 2)
    even = draw_noise((2,), 5, t_range=(0, 1000), spacing="even")
    assert even.t.tolist() == [0, 250, 500, 749, 999]


@pytest.mark.parametrize("kw", [dict(t_range=(5, 5)), dict(t_range=(-1, 4)), dict(spacing="odd")])
def test_draw_noise_rejects_bad_input(kw):
    with pytest.raises(ValueError):
        draw_noise((2,), 3, **kw)


def test_elbo_weights_follow_the_variational_bound():
    """w_t = beta_t / (2 alpha_t (1 - alphabar_t)): at t = 0 (alphabar = alpha = 1 - beta) that is 1 / (2 (1 - beta_0));
    positive everywhere, largest at the smallest t."""
    from igm_lite.schedule import elbo_weights, make_scheduler

    s = make_scheduler()
    w = elbo_weights(s, torch.arange(s.config.num_train_timesteps))
    assert (w > 0).all() and int(w.argmax()) == 0
    assert math.isclose(float(w[0]), 1 / (2 * (1 - float(s.betas[0]))), rel_tol=1e-4)  # float32 schedule tables
    t = 400
    beta, abar = float(s.betas[t]), float(s.alphas_cumprod[t])
    assert math.isclose(float(w[t]), beta / (2 * (1 - beta) * (1 - abar)), rel_tol=1e-6)
