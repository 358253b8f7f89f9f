import pytest
import torch

from igm_lite.data.digits import NUM_DIGITS, DigitWorld, captions, prompt_pool


def test_split_is_by_instance_and_covers_every_scan():
    w = DigitWorld()
    for d in range(NUM_DIGITS):
        train, test = w.instances("train")[d], w.instances("test")[d]
        assert len(set(train.tolist()) & set(test.tolist())) == 0
        assert 0.2 < len(test) / (len(test) + len(train)) < 0.3
    assert sum(len(v) for s in ("train", "test") for v in w.instances(s).values()) == 1797


def test_test_canvases_use_only_unseen_scans():
    """Rendering from the test split never pastes a training scan: each pasted digit equals a test scan."""
    from igm_lite.data.digits import _scans

    w = DigitWorld(jitter=0)
    x = w.render(torch.tensor([[3]]), "test", torch.Generator().manual_seed(0))[0, 0]
    scans = _scans(w.digit_size)
    patch = next((x[y:y + 12, c:c + 12] + 1) / 2 for y in (2, 18) for c in (2, 18) if x[y:y + 12, c:c + 12].max() > -1)
    match = [(i, d) for d in range(10) for s in ("train", "test") for i in w.instances(s)[d].tolist() if torch.allclose(scans[i], patch, atol=1e-6)]
    assert match and all(i in w.instances("test")[3].tolist() for i, _ in match)


def test_batch_captions_name_some_present_digits():
    w = DigitWorld()
    b = w.batch(200, generator=torch.Generator().manual_seed(0))
    assert b.x.shape == (200, 1, 32, 32) and b.x.min() >= -1 and b.x.max() <= 1
    assert b.concepts.shape == (200, 1, 10) and b.mask.all()
    named = b.concepts[:, 0]
    for row, labels in zip(named, b.meta["labels"]):
        present = set(labels[labels >= 0].tolist())
        assert set(row.nonzero().flatten().tolist()) <= present and 1 <= row.sum() <= 2
        assert len(present) == int((labels >= 0).sum())  # distinct digits
    # mostly one named; two in about a quarter of the multi-digit canvases
    multi = b.meta["count"] > 1
    share_two = float((named[multi].sum(1) == 2).float().mean())
    assert 0.1 < share_two < 0.4 and (named[~multi].sum(1) == 1).all()


def test_test_set_and_prompts():
    w = DigitWorld()
    x, labels = w.test_set(5, 3, torch.Generator().manual_seed(0), classes=5)
    assert x.shape == (5, 1, 32, 32) and labels.shape == (5, 3)
    assert (labels < 5).all() and (labels.diff(dim=1) > 0).all()
    assert torch.equal(prompt_pool(), torch.eye(10))
    assert captions([[3, 7]])[0].nonzero().flatten().tolist() == [3, 7]
    with pytest.raises(ValueError, match="k <= 4"):
        w.test_set(2, 5)
    with pytest.raises(ValueError, match="labels must have shape"):
        w.render(torch.tensor([[10]]))
