"""The continuous engines on an exact 'oracle' position denoiser, so that the right answer is known.

Scenes are sums of Gaussian blobs. With eps_u = x_t / sqrt(1 - abar) (the denoiser of an empty image)
and eps_k = (x_t - sqrt(abar) blob(p_k)) / sqrt(1 - abar), the weighted composition
eps_u + sum_k (eps_k - eps_u) is exactly the denoiser of the image sum_k blob(p_k): its error is least at
the true positions and number of blobs, and grows as positions move off them.
"""
import pytest
import torch
from torch import nn

from igm_lite import ComposedDenoiser
from igm_lite.data.clevr import position_concepts
from igm_lite.infer.base import denoising_error
from igm_lite.infer.continuous import PositionEngine, composed_error, descend, k_scan, multistart, position_grid, prune, random_init
from igm_lite.infer.discrete import CachedScorer
from igm_lite.metrics import match_positions, position_metrics
from igm_lite.schedule import draw_noise, make_scheduler

S, SIGMA = 24, 0.06


def blobs(pos, size=S):
    g = (torch.arange(size) + 0.5) / size
    gy, gx = torch.meshgrid(g, g, indexing="ij")
    out = torch.exp(-((gx - pos[..., 0, None, None]) ** 2 + (gy - pos[..., 1, None, None]) ** 2) / (2 * SIGMA**2))
    return out


class Oracle(nn.Module):
    takes_concept, embed_dim = True, 4

    def __init__(self, scheduler):
        super().__init__()
        self.abar = scheduler.alphas_cumprod

    def forward(self, x, t, c_emb, c):
        a = self.abar[t].view(-1, 1, 1, 1).to(x)
        drawn = blobs(c[:, :2]).unsqueeze(1) * c[:, 2].view(-1, 1, 1, 1)
        return (x - a.sqrt() * drawn) / (1 - a).sqrt()


@pytest.fixture
def oracle():
    sched = make_scheduler()
    model = ComposedDenoiser({"kind": "mlp", "data_dim": 2, "hidden": 8, "depth": 1, "embed_dim": 4}, concept_dim=3, mode="weighted")
    model.backbone = Oracle(sched)
    return model.eval(), sched


def scene(pos):
    return blobs(torch.as_tensor(pos)).sum(0, keepdim=True)  # (1, S, S)


def test_grid_has_n_squared_positions_in_range():
    g = position_grid(5, 0.1, 0.9)
    assert g.shape == (25, 3) and torch.allclose(g[0], torch.tensor([0.1, 0.1, 1.0])) and torch.allclose(g[-1], torch.tensor([0.9, 0.9, 1.0]))
    with pytest.raises(ValueError):
        position_grid(0, 0.1, 0.9)
    r = position_grid(3, (0.1, 0.2), (0.9, 0.8))  # a rectangle: x over [0.1, 0.9], y over [0.2, 0.8]
    assert torch.allclose(r[:3, 0], torch.tensor([0.1, 0.5, 0.9])) and torch.allclose(r[::3, 1], torch.tensor([0.2, 0.5, 0.8]))
    with pytest.raises(ValueError, match="per axis"):
        position_grid(3, (0.5, 0.2), (0.4, 0.8))


def test_composed_error_agrees_with_the_direct_estimator(oracle):
    model, sched = oracle
    x0 = scene([[0.3, 0.3], [0.7, 0.6]])
    samples = draw_noise(tuple(x0.shape), 3, t_range=(50, 450), seed=0)
    pos = torch.tensor([[[0.3, 0.3], [0.7, 0.6]], [[0.5, 0.5], [0.0, 0.0]]])
    mask = torch.tensor([[True, True], [True, False]])
    direct = denoising_error(model, x0, position_concepts(pos), mask, samples, sched)
    x_t = sched.add_noise(x0.expand(3, *x0.shape), samples.noise, samples.t)
    for s in range(2):
        err = composed_error(model, x_t, samples.t, samples.noise, pos[s].expand(3, 2, 2), mask[s].expand(3, 2)).mean()
        assert torch.allclose(err, direct[s], rtol=1e-4)
    assert direct[0] < direct[1]


def test_engine_finds_off_grid_positions_and_their_number(oracle):
    model, sched = oracle
    truth = torch.tensor([[0.23, 0.31], [0.71, 0.27], [0.52, 0.74], [0.18, 0.82]])
    eng = PositionEngine(model, sched, grid=8, n_samples=4, refine_steps=60, refine_lr=5e-3)
    res = eng.infer(scene(truth))
    assert res.k == 4
    m = position_metrics([res.answer], [truth])
    assert m["perception_rate"] == 1.0 and m["k_accuracy"] == 1.0
    grown = len(res.grid_answer)  # the greedy search grows past K (to k_max); pruning brings it back
    assert grown > 4 and res.pruned == grown - 4
    given = eng.infer(scene(truth), k=4)  # K given: the grid answer, then the gradient steps move it off the grid, closer
    _, _, grid_mse = match_positions(given.grid_answer, truth)
    _, _, mse = match_positions(given.answer, truth)
    assert given.k == 4 and mse.mean() < grid_mse.mean()
    # cost: the grid once per sample (64 + null), 60 steps of (null + 3 x grown rows), grown + null on 12 fresh samples
    assert res.network_evals == (64 + 1) * 4 + 60 * (1 + 3 * grown) + (grown + 1) * 12
    assert eng.infer(scene(truth), k=2).k == 2


def test_pruning_drops_a_duplicate_and_a_stray_object(oracle):
    model, sched = oracle
    truth = [[0.3, 0.5], [0.7, 0.5]]
    samples = draw_noise((1, S, S), 4, t_range=(50, 450), seed=0)
    answer = torch.tensor(truth + [[0.3, 0.5], [0.5, 0.15]])  # a duplicate of the first and a stray
    scorer = CachedScorer(model, scene(truth), position_concepts(answer), samples, sched)
    keep, err = prune(scorer)
    assert sorted(keep) in ([0, 1], [1, 2])
    assert err < float(scorer.errors(torch.arange(4)[None])[0])
    # nothing to drop when the answer is right
    right = CachedScorer(model, scene(truth), position_concepts(torch.tensor(truth)), samples, sched)
    assert prune(right)[0] == [0, 1]
    # with K given, the engine returns K objects and never prunes
    no_prune = PositionEngine(model, sched, grid=8, n_samples=4, refine_steps=0)
    assert no_prune.infer(scene(truth), k=3).k == 3


def test_descend_moves_positions_to_the_objects_and_counts_backward_rows(oracle):
    model, sched = oracle
    truth = torch.tensor([[0.4, 0.45], [0.62, 0.6]])
    x0 = scene(truth).unsqueeze(0)
    init = truth.view(1, 1, 2, 2) + torch.tensor([[0.04, -0.03], [-0.03, 0.04]])
    pos, evals = descend(model, x0, init, torch.ones(1, 2, dtype=torch.bool), sched, steps=80, lr=2e-3,
                         generator=torch.Generator().manual_seed(0))
    assert (pos[0, 0] - truth).norm(dim=1).max() < (init[0, 0] - truth).norm(dim=1).max() / 2
    assert evals == 80 * (1 + 3 * 2)
    with pytest.raises(ValueError, match="mask"):
        descend(model, x0, init, torch.ones(1, 3, dtype=torch.bool), sched, steps=1)


def test_multistart_keeps_the_init_with_the_least_error(oracle):
    model, sched = oracle
    truth = torch.tensor([[0.35, 0.4]])
    x0 = torch.stack([scene(truth), scene(torch.tensor([[0.6, 0.6]]))])
    out = multistart(model, x0, 1, sched, inits=4, steps=40, lr=1e-2, n_samples=4, seed=0)
    assert len(out) == 2 and out[0].answer.shape == (1, 2)
    assert out[0].error == pytest.approx(float(out[0].errors.min()))
    assert (out[0].answer - truth).norm() < 0.05
    assert random_init(2, 3, 4, torch.Generator().manual_seed(0)).shape == (2, 3, 4, 2)


def test_engine_refuses_a_batch_or_nan_image(oracle):
    model, sched = oracle
    eng = PositionEngine(model, sched, grid=4, n_samples=1)
    with pytest.raises(ValueError, match="one image"):
        eng.infer(torch.zeros(2, 1, S, S))
    with pytest.raises(ValueError, match="NaN"):
        eng.infer(torch.full((1, S, S), float("nan")))
    with pytest.raises(ValueError, match="one count per image"):
        eng.infer_many(torch.zeros(2, 1, S, S), k=[3])


def test_infer_many_refines_a_batch_and_splits_its_cost_exactly(oracle):
    model, sched = oracle
    truths = [torch.tensor([[0.23, 0.31], [0.71, 0.27], [0.52, 0.74]]), torch.tensor([[0.3, 0.6], [0.75, 0.7]])]
    x0 = torch.stack([scene(t) for t in truths])
    eng = PositionEngine(model, sched, grid=8, n_samples=4, refine_steps=40, refine_lr=5e-3, k_max=6)
    out = eng.infer_many(x0)
    assert [r.k for r in out] == [3, 2]
    assert position_metrics([r.answer for r in out], truths)["perception_rate"] == 1.0
    for r in out:  # each image's own rows: its grid cache, its share of the batched steps, its last check
        grown = len(r.grid_answer)
        assert r.network_evals == (64 + 1) * 4 + 40 * (1 + 3 * grown) + (grown + 1) * 12
    given = eng.infer_many(x0, k=[3, 2])
    assert [r.k for r in given] == [3, 2] and all(r.pruned == 0 for r in given)
    # one image alone is the same computation as infer
    assert torch.equal(eng.infer_many(x0[:1])[0].answer, eng.infer(x0[0]).answer)


def test_multistart_takes_one_k_per_image_and_k_scan_picks_the_count(oracle):
    model, sched = oracle
    truths = [torch.tensor([[0.35, 0.4]]), torch.tensor([[0.3, 0.3], [0.68, 0.62]])]
    x0 = torch.stack([scene(t) for t in truths])
    out = multistart(model, x0, [1, 2], sched, inits=6, steps=60, lr=1e-2, n_samples=4, seed=0)
    assert [r.answer.shape for r in out] == [(1, 2), (2, 2)] and out[1].inits.shape == (6, 2, 2)
    # cost: image b's share of the batched steps is steps x (its null row + 3 x inits x K_b), then its selection cache
    assert out[0].network_evals == 60 * (1 + 3 * 6 * 1) + 4 * (6 * 1 + 1)
    assert out[1].network_evals == 60 * (1 + 3 * 6 * 2) + 4 * (6 * 2 + 1)
    with pytest.raises(ValueError, match="one such count per image"):
        multistart(model, x0, [1], sched, inits=2, steps=1)
    scan = k_scan(model, x0, sched, (1, 3), inits=6, steps=60, lr=1e-2, n_samples=4, seed=0)
    assert [r.k for r in scan] == [1, 2]
    assert position_metrics([r.answer for r in scan], truths)["k_accuracy"] == 1.0
    assert sorted(scan[0].error_by_k) == [1, 2, 3]
    assert scan[0].network_evals == sum(60 * (1 + 3 * 6 * k) + 4 * (6 * k + 1) for k in (1, 2, 3))
    with pytest.raises(ValueError, match="inits >= 2"):
        k_scan(model, x0, sched, (1, 2), inits=1)


def test_position_metrics_match_by_hungarian_and_threshold():
    truth = [torch.tensor([[0.1, 0.1], [0.5, 0.5]]), torch.tensor([[0.9, 0.9]])]
    pred = [torch.tensor([[0.52, 0.5], [0.1, 0.12]]), torch.tensor([[0.2, 0.2], [0.88, 0.9]])]
    m = position_metrics(pred, truth)
    assert m["perception_rate"] == 1.0 and m["k_accuracy"] == 0.5
    assert m["estimation_error"] == pytest.approx(0.0002, rel=1e-5)
    far = position_metrics([torch.tensor([[0.2, 0.2]])], [torch.tensor([[0.1, 0.1]])])
    assert far["perception_rate"] == 0.0  # MSE 0.01 > 0.002
    assert position_metrics([torch.zeros(0, 2)], [torch.tensor([[0.1, 0.1]])])["perception_rate"] == 0.0
    with pytest.raises(ValueError, match="one prediction per scene"):
        position_metrics(pred[:1], truth)


def test_descend_back_propagates_to_the_positions_only():
    """The refinement needs d(error)/d(positions); the network's weight gradients would cost 1.4x the time."""
    torch.manual_seed(0)
    net = ComposedDenoiser({"kind": "unet", "sample_size": 8, "in_channels": 1, "block_out_channels": [8, 8],
                            "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2, "layers_per_block": 1,
                            "norm_num_groups": 4, "position_maps": 0.1}, concept_dim=3, mode="weighted")
    init = torch.rand(1, 2, 2, 2)
    pos, _ = descend(net, torch.rand(1, 1, 8, 8), init, torch.ones(1, 2, dtype=torch.bool), make_scheduler(), steps=2, lr=1e-2)
    assert not torch.equal(pos, init), "the positions moved"
    assert all(p.grad is None for p in net.parameters())
