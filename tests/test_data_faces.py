"""The face world and the real-CelebA loader (on a tiny fixture written in the real formats)."""

import pytest
import torch
from real_formats import write_celeba

from igm_lite.data.attributes import ATTRIBUTES, attribute_concepts, attribute_pool, attrs_from_slots
from igm_lite.data.celeba import CelebA
from igm_lite.data.faces import GROUP_B_SHIFT, FaceWorld
from igm_lite.infer.discrete import product_sets


def test_attribute_concepts_are_the_papers_one_hot_pairs():
    c = attribute_concepts(torch.tensor([[1, 0, 1], [0, 1, 0]]))
    assert c.shape == (2, 3, 6)
    assert c[0].argmax(-1).tolist() == [0, 3, 4] and c[1].argmax(-1).tolist() == [1, 2, 5]
    with pytest.raises(ValueError, match="shape"):
        attribute_concepts(torch.zeros(2, 4))


def test_configurations_map_back_to_attributes():
    """The 8 configurations of product_sets([2, 2, 2]) over the pool are the 8 attribute vectors, and each
    configuration's pool rows are exactly ``attribute_concepts`` of its attributes."""
    sets = product_sets([2, 2, 2])
    attrs = attrs_from_slots(sets)
    assert sorted(map(tuple, attrs.tolist())) == sorted((a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1))
    assert torch.equal(attribute_pool()[sets], attribute_concepts(attrs))
    with pytest.raises(ValueError, match="one slot per attribute"):
        attrs_from_slots(torch.tensor([0, 1, 4]))  # two slots of attribute 0


def test_every_attribute_changes_the_image_in_both_groups():
    """Each attribute must be visible: flipping it alone changes many pixels (same nuisances, same seed)."""
    w = FaceWorld(size=32)
    base = torch.zeros(1, 3, dtype=torch.long)
    for group in "AB":
        ref = w.render(base, group, torch.Generator().manual_seed(3))
        for k, name in enumerate(ATTRIBUTES):
            flipped = base.clone()
            flipped[0, k] = 1
            img = w.render(flipped, group, torch.Generator().manual_seed(3))
            changed = ((img - ref).abs().sum(1) > 0.3).sum()
            assert changed >= 12, f"{name} changes only {int(changed)} pixels in group {group}"


def test_groups_differ_and_batches_are_well_formed():
    w = FaceWorld(size=32)
    a = w.batch(64, "A", torch.Generator().manual_seed(0))
    b = w.batch(64, "B", torch.Generator().manual_seed(0))
    assert a.x.shape == (64, 3, 32, 32) and a.x.min() >= -1 and a.x.max() <= 1
    assert a.concepts.shape == (64, 3, 6) and a.mask.all()
    assert torch.equal(a.meta["attrs"], b.meta["attrs"])  # same seed, same attributes ...
    assert (a.x - b.x).abs().mean() > 0.1  # ... but a different group
    with pytest.raises(ValueError, match="group"):
        w.render(torch.zeros(1, 3), "C")
    # the beard is a nuisance of group B only, in about half its faces, recorded for analysis
    assert not a.meta["beard"].any() and 0.3 < b.meta["beard"].float().mean() < 0.7


def test_each_of_group_bs_differences_can_be_rendered_alone():
    """shift=() renders group B exactly as group A (same draws); each difference alone changes the faces, only
    "beard" adds beards, and all four together are the default group B."""
    attrs = torch.rand(32, 3, generator=torch.Generator().manual_seed(1)) < 0.5
    render = lambda shift, group="B": FaceWorld(32, shift=shift).render(attrs, group, torch.Generator().manual_seed(2), with_meta=True)  # noqa: E731
    a, _ = render(GROUP_B_SHIFT, "A")
    assert torch.equal(render(())[0], a)
    for part in GROUP_B_SHIFT:
        x, meta = render((part,))
        assert (x - a).abs().mean() > 0.01, f"{part} alone changes nothing"
        assert meta["beard"].any() == (part == "beard")
    assert torch.equal(render(GROUP_B_SHIFT)[0], FaceWorld(32).render(attrs, "B", torch.Generator().manual_seed(2)))
    # the beard is drawn whatever the rest: the same faces get one with and without the other differences
    assert torch.equal(render(("beard",))[1]["beard"], render(GROUP_B_SHIFT)[1]["beard"])
    with pytest.raises(ValueError, match="shift must name some of"):
        FaceWorld(shift=("moustache",))


@pytest.mark.parametrize("form", ["txt", "csv"])
def test_celeba_loader_applies_the_papers_split(tmp_path, form):
    write_celeba(tmp_path, form)
    train, id_, ood = (CelebA(tmp_path, s, size=16) for s in ("train", "id", "ood"))
    assert train.files == ["000001.jpg", "000002.jpg"]  # train partition, female
    assert id_.files == ["000004.jpg"] and ood.files == ["000005.jpg", "000006.jpg"]
    assert train.attrs.tolist() == [[1, 0, 1], [0, 1, 0]]
    assert ood.attrs.tolist() == [[0, 0, 1], [1, 0, 0]]
    x, a = ood[0]
    assert x.shape == (3, 16, 16) and -1 <= x.min() and x.max() <= 1
    batch = CelebA.collate([ood[0], ood[1]])
    assert batch.concepts.shape == (2, 3, 6) and batch.concepts[1].argmax(-1).tolist() == [0, 3, 5]


def test_celeba_loader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="img_align_celeba"):
        CelebA(tmp_path)
    write_celeba(tmp_path)
    with pytest.raises(ValueError, match="split"):
        CelebA(tmp_path, "test")
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(FileNotFoundError, match="list_eval_partition"):
        CelebA(tmp_path)


def test_celeba_world_draws_training_batches_and_needs_a_root(tmp_path):
    from igm_lite.data.celeba import CelebAWorld

    write_celeba(tmp_path)
    world = CelebAWorld()
    b = world.batch(5, torch.Generator().manual_seed(0), root=tmp_path, split="train", size=16)
    assert b.x.shape == (5, 3, 16, 16) and b.concepts.shape == (5, 3, 6)
    assert set(map(tuple, b.meta["attrs"].tolist())) <= {(1, 0, 1), (0, 1, 0)}  # only the two train-split women
    with pytest.raises(ValueError, match="root="):
        world.batch(2)


def test_gpu_recipe_runs_on_a_celeba_folder_and_checkpoints(tmp_path):
    """The paper-scale ResNet-50 recipe (mixed precision following the device: fp32 here), 2 steps at 32 px on the fixture, through the CLI in its own
    process (accelerate fixes the precision once per process): it trains from the folder, keeps resumable
    checkpoints beside its output, and the bench evaluates it on the real-data split."""
    import json
    import subprocess
    import sys

    from igm_lite.bench import celeba

    write_celeba(tmp_path / "celeba")
    out = tmp_path / "resnet"
    cmd = [sys.executable, "-m", "igm_lite.pretrained", "make", "celeba128-resnet", "--out", str(out), "--steps", "2",
           "--data", f"root={tmp_path / 'celeba'}", "--data", "size=32"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads((out / "recipe.json").read_text())
    assert info["command"].endswith(f"--steps 2 --data root={tmp_path / 'celeba'} --data size=32")
    assert info["train_config"]["mixed_precision"] == "auto" and info["precision"] == "no"  # no GPU: fp32
    assert (tmp_path / "resnet-checkpoints" / "checkpoint-000002").is_dir()
    row = next(celeba("ood", n=5, methods=["resnet"], root=tmp_path / "celeba", size=32, classifier=str(out)))
    assert row["n"] == 2 and row["settings"]["data"] == str(tmp_path / "celeba")  # the fixture's two test-split men


def test_the_worlds_switches_have_their_shares():
    """Each switch of FACE_WORLDS, measured on a few thousand faces: overlap puts each of group B's hair, jaw and
    tones on its share of group A's faces (never the beard); the cue puts red lips on P(lips | smiling) = 0.9 and
    P(lips | not smiling) = 0.1 of group A, never on group B; the prior sets the glasses' share per group; label noise
    flips its share of the training labels and none of a test set's."""
    from igm_lite.data.faces import FACE_WORLDS, face_test_set, face_world

    n = 3000
    g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    a = face_world("overlap", size=8).batch(n, "A", g(0))
    for part in ("hair", "jaw", "tones"):
        assert abs(a.meta[f"b_{part}"].float().mean() - 0.3) < 0.03
    assert not a.meta["beard"].any()
    b = face_world("overlap", size=8).batch(n, "B", g(0))
    assert b.meta["b_hair"].all() and b.meta["b_jaw"].all() and b.meta["b_tones"].all()
    a = face_world("cue", size=8).batch(n, "A", g(1))
    smiling = a.meta["attrs"][:, 2].bool()
    assert abs(a.meta["lips"][smiling].float().mean() - 0.9) < 0.03 and abs(a.meta["lips"][~smiling].float().mean() - 0.1) < 0.03
    assert not face_world("cue", size=8).batch(n, "B", g(1)).meta["lips"].any()
    for group, share in zip("AB", FACE_WORLDS["prior"]["glasses"]):
        assert abs(face_world("prior", size=8).batch(n, group, g(2)).meta["attrs"][:, 1].float().mean() - share) < 0.025
    noisy = face_world("celeba-like", size=8).batch(n, "A", g(3))
    flipped = (noisy.meta["attrs"] != noisy.meta["true_attrs"]).float().mean()
    assert abs(flipped - 0.05) < 0.01
    assert torch.equal(attribute_concepts(noisy.meta["attrs"]), noisy.concepts)  # the model trains on the noisy labels
    test = face_test_set("id", 500, world="celeba-like", size=8)
    assert torch.equal(test.meta["attrs"], test.meta["true_attrs"])
    with pytest.raises(ValueError, match="world must be one of"):
        face_world("cartoon")
    with pytest.raises(ValueError, match="share in"):
        FaceWorld(overlap=1.5)



def test_calibrated_label_noise_flips_each_value_at_its_own_rate():
    """celeba-calibrated flips each attribute's true and false labels at CELEBA_LABEL_NOISE's own shares, so that the
    rare eyeglasses keep nearly all their positive labels (with one 5% share for every label, about half of group A's
    positive eyeglasses labels are wrong); one share for every value is the same draw as that share given per value;
    a malformed table is refused."""
    from igm_lite.data.faces import CELEBA_LABEL_NOISE, face_world

    n = 40000
    faces = face_world("celeba-calibrated", size=4).batch(n, "A", torch.Generator().manual_seed(4))
    said, true = faces.meta["attrs"].bool(), faces.meta["true_attrs"].bool()
    for a, (if_true, if_false) in enumerate(CELEBA_LABEL_NOISE):
        wrong = said[:, a] != true[:, a]
        for value, share in ((True, if_true), (False, if_false)):
            k = int((true[:, a] == value).sum())
            assert abs(wrong[true[:, a] == value].float().mean() - share) < 3 * (share * (1 - share) / k) ** 0.5 + 1e-3
    glasses = said[:, 1]
    assert (~true[glasses, 1]).float().mean() < 0.1  # few positive eyeglasses labels are wrong
    old = face_world("celeba-like", size=4).batch(n, "A", torch.Generator().manual_seed(4))
    assert (old.meta["true_attrs"][old.meta["attrs"][:, 1].bool(), 1] == 0).float().mean() > 0.4  # about half
    one = FaceWorld(size=4, label_noise=0.05).batch(300, "A", torch.Generator().manual_seed(5))
    per_value = FaceWorld(size=4, label_noise=((0.05, 0.05),) * 3).batch(300, "A", torch.Generator().manual_seed(5))
    assert torch.equal(one.meta["attrs"], per_value.meta["attrs"])
    for bad in (((0.1, 0.1),), ((0.1, 2.0), (0, 0), (0, 0)), "x"):
        with pytest.raises(ValueError, match="label_noise"):
            FaceWorld(label_noise=bad)

def test_the_same_seed_gives_the_same_face_across_worlds_where_no_switch_applies():
    """The disjoint world is FaceWorld() itself; group B is the same in every world without label noise; the prior's
    faces equal the disjoint world's wherever the glasses agree, the cue's wherever there are no lips, the
    overlap's wherever a face carries none of group B's differences."""
    from igm_lite.data.faces import face_world

    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    base = {grp: FaceWorld(32).batch(200, grp, g()) for grp in "AB"}
    assert torch.equal(face_world("disjoint").batch(200, "A", g()).x, base["A"].x)
    for name in ("overlap", "cue"):
        assert torch.equal(face_world(name).batch(200, "B", g()).x, base["B"].x)
    for grp in "AB":
        prior = face_world("prior").batch(200, grp, g())
        same = (prior.meta["attrs"] == base[grp].meta["attrs"]).all(1)
        assert 0.3 < same.float().mean() < 0.9 and torch.equal(prior.x[same], base[grp].x[same])
    cue = face_world("cue").batch(200, "A", g())
    assert torch.equal(cue.x[~cue.meta["lips"]], base["A"].x[~cue.meta["lips"]]) and not torch.equal(cue.x, base["A"].x)
    over = face_world("overlap").batch(200, "A", g())
    plain = ~(over.meta["b_hair"] | over.meta["b_jaw"] | over.meta["b_tones"])
    assert torch.equal(over.x[plain], base["A"].x[plain]) and not torch.equal(over.x, base["A"].x)


def test_every_world_batch_holds_each_world_in_equal_shares():
    from igm_lite.data.faces import FACE_WORLDS, VAE_WORLDS, EveryFaceWorld

    b = EveryFaceWorld(size=8).batch(20, "AB", torch.Generator().manual_seed(0))
    assert b.x.shape == (20, 3, 8, 8) and b.meta["lips"].any() and b.meta["beard"].any()
    # the autoencoder's worlds are the grid's first five (faces32-vae-worlds was trained on them; later worlds reuse it)
    assert list(FACE_WORLDS)[:5] == list(VAE_WORLDS) and len(VAE_WORLDS) == 5 and 20 % len(VAE_WORLDS) == 0


def test_the_shortcut_worlds_pair_the_background_with_the_smile_in_group_a_and_reverse_it_in_group_b():
    """shortcut: a warm background (beige or pink) on about 98% of group A's smiling faces and a cool one on about 98%
    of the others, the opposite in group B, and no other difference between the groups; shortcut-total: always;
    the faint smile differs from the neutral mouth in fewer pixels than the open smile; the switch draws after every
    other draw, so the faces are the disjoint world's but for the background."""
    from igm_lite.data.faces import BACKGROUNDS, WARM, face_world

    warm_colours = torch.tensor([BACKGROUNDS[i] for i in WARM]) * 2 - 1
    for name, share in (("shortcut", 0.98), ("shortcut-total", 1.0)):
        for grp in "AB":
            b = face_world(name, size=8).batch(1000, grp, torch.Generator().manual_seed(3))
            corner = b.x[:, :, 0, 0]
            warm = (corner[:, None, :] - warm_colours[None]).abs().amax(-1).amin(1) < 1e-4
            smile = b.meta["true_attrs"][:, 2].bool()
            agree = (warm == smile).float().mean() if grp == "A" else (warm != smile).float().mean()
            assert abs(float(agree) - share) < 0.015, (name, grp, float(agree))
            assert not (b.meta["beard"].any() or b.meta["b_hair"].any() or b.meta["b_jaw"].any() or b.meta["b_tones"].any())
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    plain, trap = FaceWorld(32).batch(50, "A", g()), face_world("shortcut").batch(50, "A", g())
    assert torch.equal(plain.meta["attrs"], trap.meta["attrs"])
    moved = (plain.x != trap.x).any(1)  # only the background (and the edge pixels it blends into) changed
    assert moved.float().mean() > 0.1 and not moved[:, 14:18, 14:18].any()
    differ = {}
    for faint in (True, False):  # the same faces, neutral and smiling: how many pixels the smile changes
        w = FaceWorld(32, faint_smile=faint)
        neutral, smiling = (w.render(torch.tensor([[0, 0, s]] * 16), "A", torch.Generator().manual_seed(1)) for s in (0, 1))
        differ[faint] = float(((neutral - smiling).abs().amax(1) > 0.1).sum((1, 2)).float().mean())
    assert 5 < differ[True] < differ[False], differ
