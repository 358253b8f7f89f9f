import torch

from igm_lite.data import StripeWorld
from igm_lite.schedule import make_scheduler


def test_scene_counts_and_batch_format():
    w = StripeWorld()
    assert w.num_concepts == 6
    assert [len(w.scenes(k)) for k in (1, 2, 3)] == [6, 12, 8]
    b = w.batch(64, ks=(1, 2), generator=torch.Generator().manual_seed(0))
    assert b.x.shape == (64, 2) and b.concepts.shape == (64, 3, 6) and b.mask.shape == (64, 3)
    assert set(b.mask.sum(1).tolist()) <= {1, 2}
    assert torch.equal(b.concepts.sum((1, 2)), b.mask.sum(1).float())


def test_product_of_experts_is_the_sum_of_energies():
    """The closed-form product density equals exp(-sum of energies) up to a constant, and samples match."""
    w = StripeWorld()
    scene = w.scenes(2)[3]
    mean, cov = w.product(scene)
    x = torch.randn(50, 2) * 2
    logp_closed = -0.5 * torch.einsum("ni,ij,nj->n", x - mean, torch.linalg.inv(cov), x - mean)
    diff = logp_closed + w.energy(x, scene)
    assert torch.allclose(diff, diff[0].expand_as(diff), atol=1e-4)
    s = w.sample(scene, 20000, torch.Generator().manual_seed(0))
    assert torch.allclose(s.mean(0), mean, atol=0.02)
    assert torch.allclose(torch.cov(s.T), cov, atol=0.01)


def test_score_is_minus_energy_gradient_and_ideal_eps_limits():
    w = StripeWorld()
    scene = w.scenes(2)[0]
    x = torch.randn(10, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(w.energy(x, scene).sum(), x)
    assert torch.allclose(w.score(x.detach(), scene), -grad, atol=1e-5)
    # ideal eps: at abar -> 1 it is -sqrt(1-abar) * score; at abar -> 0 it is x_t itself
    ab = torch.tensor(0.9999)
    assert torch.allclose(w.ideal_eps(x.detach(), ab, scene), -(1 - ab).sqrt() * w.score(x.detach(), scene), rtol=1e-2, atol=1e-3)
    assert torch.allclose(w.ideal_eps(x.detach(), torch.tensor(1e-6), scene), x.detach(), atol=1e-2)


def test_ideal_eps_is_the_posterior_mean_of_the_noise():
    """Monte Carlo: E[eps | x_t] estimated by regression in a small bin equals ideal_eps."""
    w, s = StripeWorld(), make_scheduler()
    scene, t = w.scenes(1)[0], 400
    g = torch.Generator().manual_seed(0)
    x0 = w.sample(scene, 400000, g)
    eps = torch.randn(x0.shape, generator=g)
    ab = s.alphas_cumprod[t]
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    near = (xt - torch.tensor([0.3, 0.2])).norm(dim=1) < 0.05
    assert near.sum() > 200
    assert torch.allclose(eps[near].mean(0), w.ideal_eps(torch.tensor([0.3, 0.2]), ab, scene), atol=0.08)


def test_two_triples_are_the_same_distribution():
    """The identifiability cap quoted in chapter 1: the two triples whose stripes are symmetric about the
    origin have the same product, so no inference can separate them."""
    w = StripeWorld()
    same = [(a, b) for i, a in enumerate(w.scenes(3)) for b in w.scenes(3)[i + 1:]
            if torch.allclose(w.product(a)[0], w.product(b)[0], atol=1e-5) and torch.allclose(w.product(a)[1], w.product(b)[1], atol=1e-5)]
    assert same == [((0, 3, 4), (1, 2, 5))]
