"""Intervals: the Wilson interval of an accuracy and the paired difference of two readers on the same items."""
import numpy as np
import pytest

from igm_lite.metrics import accuracy_ci, bits, paired_difference, unbits, wilson


def test_wilson_matches_its_formula_and_known_values():
    # textbook values: 50 of 100 -> [0.4038, 0.5962]; 0 of 10 -> [0, 0.2775]; 10 of 10 -> [0.7225, 1]
    assert wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    lo, hi = wilson(81, 263)
    assert lo < 81 / 263 < hi and hi - lo < 0.12
    # wider with fewer items, at the same accuracy
    assert np.subtract(*wilson(5, 10)[::-1]) > np.subtract(*wilson(500, 1000)[::-1])
    with pytest.raises(ValueError, match="right <= n"):
        wilson(11, 10)
    assert accuracy_ci([1, 1, 0, 1]) == {"accuracy": 0.75, "ci95": [round(wilson(3, 4)[0], 4), round(wilson(3, 4)[1], 4)]}


def test_paired_difference_counts_discordant_items_and_covers_its_estimate():
    a = np.array([1] * 30 + [0] * 10 + [1] * 50 + [0] * 10, dtype=bool)
    b = np.array([0] * 30 + [1] * 10 + [1] * 50 + [0] * 10, dtype=bool)
    d = paired_difference(a, b)
    assert d["diff"] == pytest.approx(0.2) and (d["a_only"], d["b_only"]) == (30, 10)
    assert d["ci95"][0] < 0.2 < d["ci95"][1] and d["ci95"][0] > 0  # 30 against 10 discordant: told apart
    assert d["p_mcnemar"] == pytest.approx(0.0022, abs=1e-4)  # exact binomial, 10 of 40 at 1/2, two-sided
    same = paired_difference(a, a)
    assert same["diff"] == 0 and same["ci95"] == [0.0, 0.0] and same["p_mcnemar"] == 1.0
    # few discordant items: the interval includes zero
    close = paired_difference(a, np.where(np.arange(100) < 3, ~a, a))
    assert close["ci95"][0] <= 0 <= close["ci95"][1]
    # the bootstrap is seeded: the same call gives the same interval
    assert paired_difference(a, b, seed=1) == paired_difference(a, b, seed=1)
    with pytest.raises(ValueError, match="same"):
        paired_difference(a, b[:5])


def test_bits_round_trip():
    x = np.array([1, 0, 0, 1, 1], dtype=bool)
    assert bits(x) == "10011" and (unbits(bits(x)) == x).all()
    with pytest.raises(ValueError):
        unbits("10a")


def test_position_outcomes_are_per_object_and_per_scene_and_add_up_to_the_metrics():
    import torch

    from igm_lite.metrics import position_metrics, position_outcomes

    truths = [torch.tensor([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]), torch.tensor([[0.2, 0.8]])]
    preds = [torch.tensor([[0.5, 0.52], [0.1, 0.1]]), torch.tensor([[0.2, 0.8], [0.6, 0.6]])]
    o = position_outcomes(preds, truths)
    assert o["found"] == [True, True, False, True] and o["k_right"] == [False, False]
    m = position_metrics(preds, truths)
    assert m["perception_rate"] == 3 / 4 and m["k_accuracy"] == 0.0
