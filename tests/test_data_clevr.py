import pytest
import torch

from real_formats import write_clevr

from igm_lite.data.clevr import CONCEPT_DIM, K_MAX, SPLITS, Clevr, ClevrWorld, position_concepts


def test_scenes_have_the_split_counts_positions_in_range_and_are_seeded():
    w = ClevrWorld(size=32)
    for split, counts in SPLITS.items():
        b = w.test_set(40, split)
        assert b.x.shape == (40, 3, 32, 32) and b.x.min() >= -1 and b.x.max() <= 1
        assert b.concepts.shape == (40, K_MAX, CONCEPT_DIM)
        assert set(b.mask.sum(1).tolist()) <= set(counts) and len(set(b.mask.sum(1).tolist())) > 1
        xy = b.concepts[b.mask][:, :2]
        assert xy.min() >= 0 and xy.max() <= 1
        assert (b.concepts[b.mask][:, 2] == 1).all() and (b.concepts[~b.mask] == 0).all()
        for i in range(5):  # the margin between objects
            p = b.concepts[i, b.mask[i], :2]
            d = torch.cdist(p, p) + torch.eye(len(p))
            assert d.min() >= w.min_dist - 1e-6
    again = w.test_set(40, "ood")
    assert torch.equal(again.x, w.test_set(40, "ood").x)
    assert not torch.equal(w.test_set(4, "ood", seed=1).x, w.test_set(4, "ood", seed=0).x)


def test_new_shapes_split_draws_only_unseen_shapes():
    b = ClevrWorld().test_set(20, "shapes")
    assert {s for row in b.meta["shape"] for s in row} <= {"cone", "ring"}
    b = ClevrWorld().test_set(20, "ood")
    assert {s for row in b.meta["shape"] for s in row} <= {"sphere", "cube", "cylinder"}


def test_an_object_changes_the_image_where_it_stands():
    """Render one scene with and without its nearest object: the pixels that change are around it."""
    w = ClevrWorld(size=64)
    xy = torch.tensor([[[0.3, 0.4], [0.7, 0.7]]])
    args = ([["sphere", "cube"]], [["red", "blue"]], [[False, True]], torch.ones(1, 2))
    both = w.render(xy, torch.tensor([2]), *args)
    one = w.render(xy, torch.tensor([1]), *args)
    diff = (both - one).abs().sum(1)[0]
    ys, xs = torch.nonzero(diff > 0.05, as_tuple=True)
    centre = torch.stack([xs.float().mean(), ys.float().mean()]) / 64
    assert torch.allclose(centre, torch.tensor([0.7, 0.7]), atol=0.05)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="split"):
        ClevrWorld().batch(2, split="tiny")
    with pytest.raises(ValueError, match="counts"):
        ClevrWorld().batch(2, counts=(9,))
    with pytest.raises(ValueError, match="could not place"):
        ClevrWorld(min_dist=0.9).batch(1, counts=(3,))
    assert torch.equal(position_concepts(torch.tensor([[0.2, 0.3]])), torch.tensor([[0.2, 0.3, 1.0]]))


def test_real_clevr_loader_reads_the_official_layout(tmp_path):
    scenes = write_clevr(tmp_path)
    data = Clevr(tmp_path, "val", size=16, counts=SPLITS["ood"])
    assert len(data) == 2  # the 6- and 7-object scenes
    b = data.load([0, 1])
    assert b.x.shape == (2, 3, 16, 16) and b.x.min() >= -1 and b.x.max() <= 1
    assert b.mask.sum(1).tolist() == [6, 7]
    u, v = scenes[2]["objects"][0]["pixel_coords"][:2]
    assert torch.allclose(b.concepts[0, 0], torch.tensor([u / 480, v / 320, 1.0]))
    assert len(Clevr(tmp_path, "val", counts=SPLITS["id"]).batch(3, generator=torch.Generator().manual_seed(0))) == 3


def test_real_clevr_loader_says_what_it_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="CLEVR_val_scenes.json"):
        Clevr(tmp_path)
    write_clevr(tmp_path)
    with pytest.raises(ValueError, match="no scene"):
        Clevr(tmp_path, counts=(10,))
    (tmp_path / "images" / "val" / "CLEVR_val_000000.png").unlink()
    with pytest.raises(FileNotFoundError, match="CLEVR_val_000000.png"):
        Clevr(tmp_path, counts=(3,)).load([0])


def test_the_world_trains_on_the_real_clevr_when_given_a_root(tmp_path):
    write_clevr(tmp_path / "CLEVR_v1.0", counts=(3, 4, 6))
    scenes = tmp_path / "CLEVR_v1.0" / "scenes"
    (scenes / "CLEVR_train_scenes.json").write_text((scenes / "CLEVR_val_scenes.json").read_text())
    (tmp_path / "CLEVR_v1.0" / "images" / "train").symlink_to(tmp_path / "CLEVR_v1.0" / "images" / "val")
    b = ClevrWorld().batch(5, split="id", root=tmp_path / "CLEVR_v1.0", size=24, generator=torch.Generator().manual_seed(0))
    assert b.x.shape == (5, 3, 24, 24) and set(b.mask.sum(1).tolist()) <= {3, 4}
    assert ClevrWorld().batch(2, split="id", size=16).x.shape == (2, 3, 16, 16)
