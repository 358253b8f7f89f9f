import json
import subprocess
import sys

import torch

from igm_lite import ComposedDenoiser
import pytest

from igm_lite.io import CHECKPOINTS
from igm_lite.maker import make
from igm_lite.pretrained import load_model, load_pretrained, recipe_info
from igm_lite.recipes import RECIPES


def test_every_recipe_has_a_shipped_checkpoint_that_loads():
    for name, r in RECIPES.items():
        if not r.shipped:
            continue
        model = load_pretrained(name)
        want = dict(r.model)
        if r.kind == "autoencoder":  # its latents' scale is measured after training, and recorded
            assert recipe_info(name)["scaling_factor"] == model.scaling_factor != 1.0
            want["vae"] = {**want["vae"], "scaling_factor": model.scaling_factor}
        assert all(model.config[k] == v for k, v in want.items()) and not model.training
        info = recipe_info(name)
        assert info["command"].startswith(f"python -m igm_lite.pretrained make {name}")
        assert info["train_config"]["steps"] == r.train["steps"]
        size = sum(p.stat().st_size for p in (CHECKPOINTS / name).iterdir())
        assert size < 5_000_000, "shipped checkpoints stay small (the largest, digits32: 1.06M float32 parameters)"


def test_recipe_runs_for_a_few_steps(tmp_path):
    out = make("toy2d-joint-weighted", tmp_path / "m", steps=5, progress=False)
    model = ComposedDenoiser.from_pretrained(out)
    shipped = load_pretrained("toy2d-joint-weighted")
    assert model.config == shipped.config
    assert json.loads((out / "recipe.json").read_text())["train_config"]["steps"] == 5
    # 5 steps are not the shipped 4,000: the weights differ
    assert not torch.equal(next(model.parameters()), next(shipped.parameters()))


def test_face_recipes_run_for_a_few_steps(tmp_path):
    """The composed faces model and its ResNet baseline share the data, steps and batch size."""
    assert RECIPES["faces32-mean"].train == RECIPES["faces32-resnet"].train
    for name in ("faces32-mean", "faces32-resnet"):
        out = make(name, tmp_path / name, steps=2, progress=False)
        info = json.loads((out / "recipe.json").read_text())
        assert info["train_config"]["steps"] == 2 and info["recipe"]["world"] == "faces"
        assert type(load_pretrained(name)).from_pretrained(out).config == load_pretrained(name).config


def test_cli_lists_recipes():
    r = subprocess.run([sys.executable, "-m", "igm_lite.pretrained", "list"], capture_output=True, text=True, check=True)
    assert all(name in r.stdout for name in RECIPES)


def test_digits_recipe_runs_and_keeps_resumable_checkpoints(tmp_path):
    """The zero-shot chapter's recipe for 4 steps, checkpointing every 2: the folder loads and the
    checkpoints sit beside it."""
    out = make("digits32", tmp_path / "d", steps=4, progress=False, checkpoint_every=2)
    model = ComposedDenoiser.from_pretrained(out)
    assert model.config["encoder"] == "linear" and model.config["concept_dim"] == 10
    assert json.loads((out / "recipe.json").read_text())["recipe"]["world"] == "digits"
    assert sorted(p.name for p in (tmp_path / "d-checkpoints").iterdir()) == ["checkpoint-000002", "checkpoint-000004"]


def test_clevr_recipes_run_for_a_few_steps_on_the_same_budget(tmp_path):
    """The position denoisers and both set predictors of chapter 2: same scenes, steps and batch size."""
    from igm_lite.baselines import SetPredictor

    assert RECIPES["clevr32"].data == RECIPES["clevr32-resnet"].data == RECIPES["clevr32-slot"].data
    for name in ("clevr32-resnet", "clevr32-slot"):
        assert {k: RECIPES[name].train[k] for k in ("steps", "batch_size")} == {k: RECIPES["clevr32"].train[k] for k in ("steps", "batch_size")}
    out = make("clevr32", tmp_path / "c", steps=2, progress=False)
    model = ComposedDenoiser.from_pretrained(out)
    assert model.config["backbone"]["position_maps"] > 0 and model.mode == "weighted"
    out = make("clevr32-slot", tmp_path / "s", steps=2, progress=False)
    assert SetPredictor.from_pretrained(out).config["arch"] == "slot"


def test_a_shipped_model_carries_the_inference_settings_it_was_validated_with(tmp_path):
    """inference.json beside each shipped engine model equals its recipe's record (settings, what they were chosen on,
    the validation command); the recipe writes it; a loaded model carries the settings and the engines use them
    unless told otherwise; a folder without them falls back to the dataclass's defaults."""
    from igm_lite import NoiseConfig, make_scheduler
    from igm_lite.infer.continuous import PositionConfig, PositionEngine
    from igm_lite.infer.discrete import DiscreteConfig, DiscreteEngine
    from igm_lite.io import INFERENCE_NAME, read_inference

    recorded = [n for n, r in RECIPES.items() if r.shipped and r.inference]
    assert {"faces32-mean", "faces32-latent", "faces32-latent-a", "clevr32", "digits32"} <= set(recorded)
    for name in recorded:
        record = read_inference(CHECKPOINTS / name)
        assert record == RECIPES[name].inference and record["chosen_on"] and record["command"].startswith("python -m igm_lite.bench")
    pixel = load_pretrained("faces32-mean")
    cfg = DiscreteEngine(pixel, make_scheduler(), method="eliminate").config
    assert (cfg.noise.n_samples, cfg.noise.t_range, cfg.stages) == (16, (0, 1000), [(4, 2), (7, 1)])
    assert DiscreteEngine(pixel, make_scheduler()).config.schedule is None  # the schedule is read by "eliminate" alone
    # a recorded schedule travels with the number of samples it was chosen with: with another number it is refused
    with pytest.raises(ValueError, match=r"for method 'eliminate' \(n_samples=16, schedule=\[\[4, 2\], \[7, 1\]\]\) were chosen together"):
        DiscreteEngine(pixel, make_scheduler(), method="eliminate", n_samples=8)
    assert DiscreteEngine(pixel, make_scheduler(), n_samples=8).config.noise.n_samples == 8  # cached reads no schedule
    assert DiscreteEngine(pixel, make_scheduler(), method="eliminate", n_samples=16, schedule=[(2, 2), (16, 1)]).config.stages == [(2, 2), (16, 1)]
    assert DiscreteEngine(pixel, make_scheduler(), method="eliminate", n_samples=8, schedule=None).config.stages == DiscreteConfig(
        noise=NoiseConfig(n_samples=8), method="eliminate").stages  # both given: the default stages of 8 samples
    assert DiscreteEngine(pixel, make_scheduler(), DiscreteConfig()).config == DiscreteConfig()  # an explicit config wins
    assert PositionEngine(load_pretrained("clevr32"), make_scheduler()).config.noise.t_range == tuple(
        RECIPES["clevr32"].inference["settings"]["positions"]["t_range"])
    out = make("faces32-mean", out=tmp_path / "m", steps=1, progress=False)
    assert read_inference(out) == RECIPES["faces32-mean"].inference
    (out / INFERENCE_NAME).unlink()
    bare = load_model(out)
    assert bare.inference == {} and DiscreteEngine(bare, make_scheduler()).config == DiscreteConfig()
    assert PositionEngine(bare, make_scheduler()).config.grid == PositionConfig().grid
    (out / INFERENCE_NAME).write_text("[1, 2]")
    with pytest.raises(ValueError, match="settings"):
        load_model(out)
    # a damaged or misspelt record is refused at load, naming the file, not when an engine first reads it
    for settings, message in (({"n_samples": 16}, r"one object per kind of engine \['discrete', 'positions', 'descent'\]"),
                              ({"discrete": {"n_sample": 16}}, r"unknown setting\(s\) \['n_sample'\]"),
                              ({"discrete": {"eliminate": {"schedul": [[4, 1]]}}}, r"unknown setting\(s\) \['eliminate.schedul'\]"),
                              ({"discrete": {"n_samples": 0}}, "n_samples must be >= 1"),
                              ({"discrete": {"eliminate": {"schedule": [[40, 1]]}}}, "schedule sample counts must increase within 1..n_samples = 32"),
                              ({"positions": {"grid": "12"}}, "grid must be a whole number")):
        (out / INFERENCE_NAME).write_text(json.dumps({"settings": settings}))
        with pytest.raises(ValueError, match=message) as e:
            load_model(out)
        assert str(out / INFERENCE_NAME) in str(e.value)


def test_a_dataset_folder_given_to_a_recipe_whose_world_cannot_read_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"recipe 'faces32-mean' trains on the 'faces' world.*not \['root'\].*celeba128-mean"):
        make("faces32-mean", tmp_path / "m", 1, progress=False, data={"root": str(tmp_path)})
    assert not (tmp_path / "m").exists()

