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
