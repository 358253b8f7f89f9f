import itertools

import pytest
import torch

from igm_lite import MODES, CachedScorer, DiscreteEngine, denoising_error, draw_noise, make_scheduler, product_sets, subsets
from igm_lite.infer.discrete import DiscreteConfig, greedy_search, pad_sets, race_drops, race_looks


@pytest.mark.parametrize("mode", MODES)
def test_cached_errors_equal_brute_force(toy_model, mode):
    """Every set's error from the cached Gram matrix equals composing it at every sample (naive)."""
    model = toy_model(mode, concept_dim=5, weight=0.6)
    sched = make_scheduler()
    g = torch.Generator().manual_seed(1)
    x0, pool = torch.randn(6, 2, generator=g), torch.randn(5, 5, generator=g)
    samples = draw_noise((6, 2), 7, seed=3)
    sets = [list(s) for k in (1, 2, 3) for s in itertools.combinations(range(5), k)]
    scorer = CachedScorer(model, x0, pool, samples, sched)
    cand = pad_sets(sets)
    member = cand >= 0
    brute = denoising_error(model, x0, pool[cand.clamp(min=0)] * member.unsqueeze(-1), member, samples, sched)
    assert torch.allclose(scorer.errors(cand), brute, rtol=1e-4, atol=1e-6)
    # each candidate once per sample (+ the null concept where the mode needs it)
    assert scorer.network_evals == 7 * (5 + (mode == "weighted"))


@pytest.mark.parametrize("mode", MODES)
def test_per_sample_errors_are_each_samples_brute_force_error(toy_model, mode):
    """keep_samples: the error of every set at each sample alone equals composing it at that one sample,
    their mean is the usual cached error, and per-sample errors are refused where they were not kept."""
    model = toy_model(mode, concept_dim=4, weight=0.6)
    sched = make_scheduler()
    g = torch.Generator().manual_seed(2)
    x0, pool = torch.randn(6, 2, generator=g), torch.randn(4, 4, generator=g)
    samples = draw_noise((6, 2), 5, seed=4)
    cand = pad_sets([[0], [1, 3], [0, 2, 3]])
    member = cand >= 0
    scorer = CachedScorer(model, x0, pool, samples, sched, max_rows=8, keep_samples=True)  # several calls
    per = scorer.errors(cand, per_sample=True)
    assert per.shape == (5, 3)
    for n in range(5):
        one = type(samples)(samples.t[n : n + 1], samples.noise[n : n + 1])
        brute = denoising_error(model, x0, pool[cand.clamp(min=0)] * member.unsqueeze(-1), member, one, sched)
        assert torch.allclose(per[n], brute, rtol=1e-4, atol=1e-6)
    assert torch.allclose(per.mean(0), scorer.errors(cand), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="keep_samples"):
        CachedScorer(model, x0, pool, samples, sched).errors(cand, per_sample=True)
    # some candidates only (as racing adds them): exact for the sets whose members were all evaluated at every sample
    part = CachedScorer(model, x0, pool, None, sched, keep_samples=True)
    part.add(samples, candidates=[1, 3])
    assert torch.allclose(part.errors(cand[1:2], per_sample=True), per[:, 1:2], rtol=1e-5, atol=1e-7)


def test_k_of_m_matches_brute_force(toy_model):
    """3 of 20 concepts (1,140 sets) scored from the cache agree with brute force; naive costs far more."""
    model = toy_model("mean", concept_dim=20)
    sched = make_scheduler()
    x0, pool = torch.randn(3, 2), torch.eye(20)
    eng_c = DiscreteEngine(model, sched, n_samples=4, seed=0)
    eng_n = DiscreteEngine(model, sched, n_samples=4, seed=0, method="naive")
    sets = subsets(20, 3)
    rc, rn = eng_c.infer(x0, pool, sets), eng_n.infer(x0, pool, sets)
    assert torch.allclose(rc.errors, rn.errors, rtol=1e-4, atol=1e-6)
    assert rc.answer.tolist() == rn.answer.tolist()
    assert rc.network_evals == 4 * 20 and rn.network_evals == 4 * 1140 * 3


def test_greedy_search_finds_the_planted_set():
    """A model whose per-concept prediction is a fixed direction: the target noise is planted as the
    composition of a known set, so the least-error set is that set, and greedy search must find it and
    stop by itself at the right K (sum mode: adding any other concept raises the error)."""

    class Planted(torch.nn.Module):
        def __init__(self, dirs):
            super().__init__()
            self.dirs, self.mode, self.weight, self.network_evals = dirs, "sum", 1.0, 0
            self.config = {"concept_dim": dirs.shape[0]}
            self.encoder = None

        def predict(self, x, t, c):
            self.network_evals += x.shape[0]
            return (c @ self.dirs).view(x.shape[0], *x.shape[1:])

    g = torch.Generator().manual_seed(0)
    M, d = 12, 64
    dirs = torch.randn(M, d, generator=g) / 4
    truth = [2, 5, 9]
    model, sched = Planted(dirs), make_scheduler()
    x0 = torch.zeros(d)
    samples = draw_noise((d,), 1, seed=0)
    samples.noise[0] = dirs[truth].sum(0)  # eps equals the composition of the true set
    scorer = CachedScorer(model, x0, torch.eye(M), samples, sched)
    ans, err, _, _ = greedy_search(scorer)
    assert ans.tolist() == truth and err < 1e-10
    ans3, _, _, _ = greedy_search(scorer, k=3)
    assert ans3.tolist() == truth
    # exhaustive check over all sets up to size 4
    all_sets = pad_sets([list(s) for k in range(1, 5) for s in itertools.combinations(range(M), k)])
    best = all_sets[int(scorer.errors(all_sets).argmin())]
    assert best[best >= 0].tolist() == truth


def test_product_sets_and_subsets():
    ps = product_sets([2, 2, 2])
    assert ps.shape == (8, 3) and ps[0].tolist() == [0, 2, 4] and ps[-1].tolist() == [1, 3, 5]
    assert subsets(5, 2).shape == (10, 2)


def test_engine_bad_input(toy_model):
    model = toy_model("mean")
    eng = DiscreteEngine(model, make_scheduler(), n_samples=2)
    with pytest.raises(ValueError, match="pool must have shape"):
        eng.infer(torch.randn(2), torch.randn(3, 7), [[0]])
    with pytest.raises(ValueError, match="NaN"):
        eng.infer(torch.tensor([float("nan"), 0.0]), torch.randn(3, 4), [[0]])
    with pytest.raises(ValueError, match="index outside"):
        eng.infer(torch.randn(2), torch.randn(3, 4), [[0, 5]])
    with pytest.raises(ValueError, match="naive"):
        DiscreteEngine(model, make_scheduler(), method="naive", max_sets=2).infer(torch.randn(2), torch.randn(3, 4))
    with pytest.raises(ValueError, match="method"):
        DiscreteEngine(model, make_scheduler(), method="fast")


def test_engine_enumerates_when_few_and_searches_when_many(toy_model):
    model = toy_model("sum", concept_dim=6)
    x0, pool = torch.randn(4, 2), torch.eye(6)
    few = DiscreteEngine(model, make_scheduler(), n_samples=3, k_max=3).infer(x0, pool)
    assert few.candidates.shape == (6 + 15 + 20, 3)  # every set of 1 to 3 of 6 concepts
    assert float(few.errors.min()) == few.error
    many = DiscreteEngine(model, make_scheduler(), n_samples=3, max_sets=10).infer(x0, pool, k=3)
    assert many.k == 3 and many.candidates.shape[1] == 3
    # the search's answer is never worse than the enumerated best of that size (here: equal or close)
    exact = DiscreteEngine(model, make_scheduler(), n_samples=3).infer(x0, pool, k=3)
    assert exact.candidates.shape[0] == 20 and many.error >= exact.error - 1e-6


def test_elimination_with_one_stage_is_the_cached_engine(toy_model):
    model = toy_model("weighted", concept_dim=6)
    x0, pool, sets = torch.randn(5, 2), torch.eye(6), product_sets([2, 2, 2])
    cached = DiscreteEngine(model, make_scheduler(), n_samples=8).infer(x0, pool, sets)
    one = DiscreteEngine(model, make_scheduler(), n_samples=8, method="eliminate", schedule=[(8, 1)]).infer(x0, pool, sets)
    assert torch.allclose(one.errors, cached.errors, rtol=1e-5) and one.answer.tolist() == cached.answer.tolist()
    assert one.network_evals == cached.network_evals == 8 * 7


def test_elimination_spends_less_and_keeps_the_winner(toy_model):
    """Sets that lose early are not evaluated again: fewer rows, and on the common samples the survivor
    is scored exactly as the cached engine scores it."""
    model = toy_model("mean", concept_dim=12)
    sched = make_scheduler()
    x0, pool = torch.randn(5, 2), torch.eye(12)
    sets = product_sets([3, 3, 3, 3])  # 81 configurations of 4 attributes with 3 values each
    cached = DiscreteEngine(model, sched, n_samples=32).infer(x0, pool, sets)
    elim = DiscreteEngine(model, sched, n_samples=32, method="eliminate", schedule=[(4, 3), (32, 1)]).infer(x0, pool, sets)
    assert elim.network_evals < cached.network_evals
    assert elim.network_evals == 4 * 12 + 28 * len(elim.candidates[elim.last_stage == 1].unique())
    final = elim.last_stage == 1
    assert int(final.sum()) == 3
    assert torch.allclose(elim.errors[final], cached.errors[final], rtol=1e-5)  # all 32 samples, same noise
    with pytest.raises(ValueError, match="increase"):
        DiscreteEngine(model, sched, n_samples=8, method="eliminate", schedule=[(4, 2), (4, 1)]).infer(x0, pool, sets)


def test_race_looks_grow_by_half_and_end_at_the_budget():
    assert race_looks(32) == [4, 6, 9, 14, 21, 32]
    assert race_looks(16)[-1] == 16 and race_looks(1) == [1] and race_looks(3) == [3]
    looks = race_looks(1000)
    assert all(b > a and b <= max(a + 1, round(1.5 * a)) for a, b in zip(looks, looks[1:-1]))


def test_race_drops_a_set_only_when_its_paired_excess_is_sure():
    """The paired test: a rival worse at every sample by a steady margin is dropped; one that is worse on average but
    whose differences swing around zero is kept at 2 samples; the leader is never dropped; one sample is refused."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(6, generator=g) * 10  # the samples' errors vary far more than the sets' differences
    table = torch.stack([base, base + 0.1 + 0.01 * torch.rand(6, generator=g), base + torch.tensor([1.0, -0.9, 1.0, -0.9, 1.0, -0.9])], 1)
    drops = race_drops(table, 0.95)
    assert drops.tolist() == [False, True, False]
    assert not race_drops(table[:2], 0.95)[2]
    assert race_drops(table[:, [1, 0]], 0.95).tolist() == [True, False]  # the leader is whichever has the least mean error
    with pytest.raises(ValueError, match="at least 2"):
        race_drops(table[:1], 0.95)


def test_racing_that_drops_nothing_is_the_cached_engine(toy_model):
    """At a confidence no test reaches, every set runs every sample: the cached engine's errors, answer and rows."""
    for mode in MODES:
        model = toy_model(mode, concept_dim=6)
        x0, pool, sets = torch.randn(5, 2), torch.eye(6), product_sets([2, 2, 2])
        cached = DiscreteEngine(model, make_scheduler(), n_samples=12).infer(x0, pool, sets)
        raced = DiscreteEngine(model, make_scheduler(), n_samples=12, method="race", confidence=1 - 1e-12).infer(x0, pool, sets)
        assert raced.answer.tolist() == cached.answer.tolist() and raced.network_evals == cached.network_evals
        assert torch.allclose(raced.errors, cached.errors, rtol=1e-5) and raced.samples_scored.tolist() == [12] * 8


def test_racing_counts_every_row_and_scores_survivors_exactly(toy_model):
    """The rows racing reports are the backbone's own count, and they are what its looks say: at each look, the new
    samples times the candidates (and the null concept) that the surviving sets still contain. A set is scored on
    the first samples_scored samples exactly as the cached engine scores it on those samples."""
    model = toy_model("weighted", concept_dim=8)
    sched = make_scheduler()
    x0, pool, sets = torch.randn(5, 2), torch.eye(8), product_sets([2, 2, 2, 2])
    before = model.network_evals
    res = DiscreteEngine(model, sched, n_samples=64, method="race", confidence=0.6).infer(x0, pool, sets)
    assert res.network_evals == model.network_evals - before
    rows, done = 0, 0
    for n in race_looks(64):
        alive = res.samples_scored >= n
        if not alive.any():
            break
        rows += (n - done) * (len(res.candidates[alive].unique()) + 1)  # + the null concept (weighted)
        done = n
    assert res.network_evals == rows < 64 * 9
    n = int(res.samples_scored.min())
    ref = DiscreteEngine(model, sched, n_samples=64).noise_for(x0)
    first = type(ref)(ref.t[:n], ref.noise[:n])
    scorer = CachedScorer(model, x0, pool, first, sched)
    assert torch.allclose(res.errors[res.samples_scored == n], scorer.errors(res.candidates[res.samples_scored == n]), rtol=1e-5)
    assert res.samples_used == int(res.samples_scored.max())


def test_racing_stops_early_on_a_face_it_reads_easily():
    """A group-A face of the shipped latent model that its leader wins clearly (the third of the test faces drawn
    with seed 1): racing at its default confidence gives the cached engine's answer with fewer rows and samples."""
    from igm_lite.data import attribute_pool
    from igm_lite.data.faces import face_test_set
    from igm_lite.latent import encode
    from igm_lite.pretrained import load_pretrained

    model = load_pretrained("faces32-latent")
    z = encode(model, face_test_set("id", 8, 1).x[2:3])[0]
    sets = product_sets([2, 2, 2])
    cached = DiscreteEngine(model, make_scheduler(), method="cached").infer(z, attribute_pool(), sets)
    raced = DiscreteEngine(model, make_scheduler(), method="race").infer(z, attribute_pool(), sets)
    assert raced.answer.tolist() == cached.answer.tolist()
    assert raced.network_evals < cached.network_evals and raced.samples_used < 32


@pytest.mark.parametrize("bad, err", [(1.0, ValueError), (0.0, ValueError), (-0.5, ValueError), ("0.9", TypeError), (float("nan"), ValueError)])
def test_race_confidence_is_checked(bad, err):
    with pytest.raises(err, match="confidence"):
        DiscreteConfig(method="race", confidence=bad)
