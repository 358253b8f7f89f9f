import pytest
import torch

from igm_lite import exercises


def test_weighted_composition_check():
    def right(eps_u, eps_k, mask, w):
        return eps_u + w * ((eps_k - eps_u.unsqueeze(1)) * mask.unsqueeze(-1)).sum(1)

    def ignores_mask(eps_u, eps_k, mask, w):
        return eps_u + w * (eps_k - eps_u.unsqueeze(1)).sum(1)

    def stub(eps_u, eps_k, mask, w):
        raise NotImplementedError

    assert exercises.check_weighted_composition(right) is True
    assert exercises.check_weighted_composition(stub) is False
    with pytest.raises(AssertionError, match="masked-out"):
        exercises.check_weighted_composition(ignores_mask)


def test_product_check():
    def right(means, precisions):
        cov = torch.linalg.inv(precisions.sum(0))
        return cov @ torch.einsum("kij,kj->i", precisions, means), cov

    def plain_average(means, precisions):
        cov = torch.linalg.inv(precisions.sum(0))
        return means.mean(0), cov

    assert exercises.check_product_of_experts(right) is True
    with pytest.raises(AssertionError, match="mean wrong"):
        exercises.check_product_of_experts(plain_average)


def test_mean_config_error_check():
    """A right answer passes, a stub is 'not attempted', and the sum instead of the mean fails with a hint."""
    def right(gram, config):
        K = len(config)
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0] = 1.0
        v[2 + config] = -1.0 / K
        return float(v @ gram @ v)

    def summed(gram, config):
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0] = 1.0
        v[2 + config] = -1.0
        return float(v @ gram @ v)

    def stub(gram, config):
        raise NotImplementedError

    assert exercises.check_mean_config_error(right) is True
    assert exercises.check_mean_config_error(stub) is False
    with pytest.raises(AssertionError, match="1/K"):
        exercises.check_mean_config_error(summed, seed=1)


def test_weighted_set_error_check():
    """The sum of differences passes; forgetting the empty prompt's prediction fails with a hint."""
    def vector(gram, prompts, u):
        v = torch.zeros(gram.shape[0], dtype=gram.dtype)
        v[0], v[1] = 1.0, -u
        v[2 + prompts] = -1.0
        return float(v @ gram @ v)

    assert exercises.check_weighted_set_error(lambda g, p: vector(g, p, 1.0 - len(p))) is True
    assert exercises.check_weighted_set_error(lambda g, p: (_ for _ in ()).throw(NotImplementedError())) is False
    with pytest.raises(AssertionError, match="1 - K"):
        for seed in range(5):
            exercises.check_weighted_set_error(lambda g, p: vector(g, p, 0.0), seed=seed)


def test_perception_checker_accepts_hungarian_and_refuses_nearest_neighbours(capsys):
    from scipy.optimize import linear_sum_assignment

    def hungarian(pred, truth, threshold):
        if len(pred) == 0:
            return 0
        cost = ((pred[:, None] - truth[None]) ** 2).mean(-1)
        rows, cols = linear_sum_assignment(cost.numpy())
        return int((cost[rows, cols] < threshold).sum())

    def nearest(pred, truth, threshold):
        if len(pred) == 0:
            return 0
        return int((((pred[:, None] - truth[None]) ** 2).mean(-1).min(0).values < threshold).sum())

    def todo(pred, truth, threshold):
        raise NotImplementedError

    assert exercises.check_perception(hungarian)
    with pytest.raises(AssertionError, match="Hungarian"):
        exercises.check_perception(nearest)
    assert exercises.check_perception(todo) is False


def test_elimination_checker_names_the_mistake():
    """A function that returns nothing, or the best configuration over all samples, fails with a hint saying so."""
    with pytest.raises(AssertionError, match="return the chosen configuration's index"):
        exercises.check_elimination(lambda errors, schedule: None)
    with pytest.raises(AssertionError, match="the first stage only looks at the first samples|the second stage ranks"):
        exercises.check_elimination(lambda errors, schedule: int(errors.mean(0).argmin()))
