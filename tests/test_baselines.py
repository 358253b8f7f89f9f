"""The ResNet attribute classifier: shapes, errors, training in the shared loop, checkpoints and resume."""
import pytest
import torch

from igm_lite.baselines import AttributeClassifier, ClassifierLoss
from igm_lite.data.faces import FaceWorld
from igm_lite.train import TrainConfig, checkpoints, train


def small():
    torch.manual_seed(0)
    return AttributeClassifier(embedding_size=8, hidden_sizes=(8, 16), depths=(1, 1))


def test_logits_and_predictions_have_one_entry_per_attribute():
    clf = small().eval()
    x = torch.rand(5, 3, 32, 32) * 2 - 1  # images in [-1, 1]
    assert clf(x).shape == (5, 3)
    p = clf.predict(x)
    assert p.shape == (5, 3) and set(p.unique().tolist()) <= {0, 1}


def test_bad_input_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match=r"\(B, 3, any, any\)"):
        small()(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="one entry per stage"):
        AttributeClassifier(hidden_sizes=(8, 16), depths=(1,))


def test_trains_in_the_shared_loop_and_resumes_exactly(tmp_path):
    """The same ``train`` as the composed model: the loss falls, a checkpoint rebuilds the classifier, and a
    run stopped at step 20 and resumed ends where an uninterrupted run ends."""
    world = FaceWorld(size=32)
    batch_fn = lambda n, g: world.batch(n, "A", g)  # noqa: E731
    cfg = TrainConfig(steps=40, batch_size=16, lr=3e-3, warmup=1, checkpoint_every=20)
    full = train(small(), batch_fn, cfg, tmp_path / "full", progress=False, loss_fn=ClassifierLoss())
    assert sum(full.losses[-5:]) / 5 < sum(full.losses[:5]) / 5
    assert [p.name for p in checkpoints(tmp_path / "full")] == ["checkpoint-000020", "checkpoint-000040"]
    reloaded = AttributeClassifier.from_pretrained(tmp_path / "full" / "checkpoint-000040")
    x = world.batch(4, "A", torch.Generator().manual_seed(1)).x
    assert torch.allclose(reloaded.eval()(x), full.model.eval()(x))

    half = TrainConfig(**{**cfg.__dict__, "steps": 20})
    train(small(), batch_fn, half, tmp_path / "resumed", progress=False, loss_fn=ClassifierLoss())
    resumed = train(small(), batch_fn, cfg, tmp_path / "resumed", progress=False, loss_fn=ClassifierLoss())
    assert resumed.resumed_from == 20
    assert torch.allclose(resumed.model.eval()(x), full.model.eval()(x), atol=1e-5)
    assert resumed.losses == pytest.approx(full.losses, abs=1e-5)


def test_a_checkpoint_of_another_class_is_refused(tmp_path):
    from igm_lite import ComposedDenoiser

    small().save_pretrained(tmp_path / "clf")
    with pytest.raises(ValueError, match="does not describe a ComposedDenoiser"):
        ComposedDenoiser.from_pretrained(tmp_path / "clf")


@pytest.mark.parametrize("arch", ["resnet", "slot"])
def test_set_predictors_learn_positions_with_the_hungarian_loss(arch, tmp_path):
    from igm_lite.baselines import SetLoss, SetPredictor
    from igm_lite.data.clevr import ClevrWorld

    torch.manual_seed(0)
    model = SetPredictor(arch, slots=6, width=16, size=16)
    batch = ClevrWorld(size=16).batch(4, counts=(2, 3), generator=torch.Generator().manual_seed(0))
    out = model(batch.x)
    assert out.shape == (4, 6, 3) and out[..., :2].min() >= 0 and out[..., :2].max() <= 1
    loss_fn, opt = SetLoss(), torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(loss_fn(model, batch, None).detach())
    for _ in range(40):  # overfit one batch: the loss must fall (Slot Attention's random slots make it noisier)
        loss = loss_fn(model, batch, None)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss_fn(model, batch, None).detach()) < (0.7 if arch == "resnet" else 0.95) * first
    preds = model.predict(batch.x)
    assert len(preds) == 4 and all(p.shape[1] == 2 for p in preds)
    model.save_pretrained(tmp_path / "m")
    again = SetPredictor.from_pretrained(tmp_path / "m")
    torch.manual_seed(1)
    a = again(batch.x)
    torch.manual_seed(1)
    assert torch.allclose(a, model(batch.x), atol=1e-6)
    with pytest.raises(ValueError, match="arch"):
        SetPredictor("vit")
    with pytest.raises(ValueError, match=r"must be a batch of shape \(B, 3, 16, 16\)"):
        model(torch.zeros(2, 1, 16, 16))
