"""Latent models (igm_lite.latent): the autoencoder, its loaders, latent recipes and inference on latents."""
import json
import subprocess
import sys

import pytest
import torch
from real_formats import write_celeba
from tiny_sd import build_tiny_sd

from igm_lite import latent
from igm_lite.data.faces import face_test_set
from igm_lite.infer.attributes import attribute_votes, errors_by_noise_level, infer_faces
from igm_lite.latent import Autoencoder, encode, load_autoencoder, small_vae
from igm_lite.maker import make
from igm_lite.pretrained import load_model


def tiny_autoencoder(seed=0):
    torch.manual_seed(seed)
    return Autoencoder(small_vae(16, block_out_channels=(8, 8, 8))).eval()


def test_autoencoder_encodes_to_scaled_latents_and_calibrates_to_unit_variance(tmp_path):
    ae = tiny_autoencoder()
    x = face_test_set("id", 6, size=16).x
    z = ae.encode(x)
    assert z.shape == (6, 4, 4, 4) and ae.factor == 4
    s = ae.calibrate(x)
    assert ae.config["vae"]["scaling_factor"] == pytest.approx(s)
    assert float(ae.encode(x).std()) == pytest.approx(1.0, rel=1e-4)
    assert torch.allclose(ae.encode(x), z * s, atol=1e-5)  # the scale is the only change
    assert ae.decode(ae.encode(x)).shape == x.shape
    ae.save_pretrained(tmp_path / "ae")
    back = load_autoencoder(str(tmp_path / "ae"))
    assert torch.allclose(back.encode(x), ae.encode(x), atol=1e-6)
    with pytest.raises(ValueError, match="divisible by 4"):
        ae.encode(torch.zeros(1, 3, 18, 18))
    with pytest.raises(ValueError, match=r"values in \[0, 255\]"):
        ae.encode(torch.full((1, 3, 16, 16), 255.0).index_fill_(1, torch.tensor([0]), 0.0))


def test_loads_a_diffusers_autoencoder_folder_and_a_stable_diffusion_pipeline_folder(tmp_path):
    from diffusers import AutoencoderKL

    torch.manual_seed(1)
    vae = AutoencoderKL(**small_vae(16, block_out_channels=(8, 8)))
    vae.register_to_config(scaling_factor=0.5)
    vae.save_pretrained(tmp_path / "kl")  # diffusers' own layout: config.json with _class_name AutoencoderKL
    ae = load_autoencoder(str(tmp_path / "kl"))
    x = face_test_set("ood", 2, size=16).x
    assert torch.allclose(ae.encode(x), vae.encode(x).latent_dist.mean * 0.5, atol=1e-6)
    sd = build_tiny_sd(tmp_path)  # a pipeline folder: the autoencoder is its vae/
    assert load_autoencoder(str(sd)).factor == 8 and load_autoencoder(str(sd)).encode(torch.zeros(1, 3, 16, 16)).shape == (1, 4, 2, 2)
    with pytest.raises(OSError, match="could not load an autoencoder"):
        load_autoencoder(str(tmp_path / "nothing-here"))


def test_latent_recipes_run_and_inference_encodes_each_face_once(tmp_path, monkeypatch):
    """The shipped latent recipes for a few steps (the autoencoder, then the denoisers on its latents): the model folder
    names its autoencoder, load_model rebuilds it, and the engines and votes read each face's latent, encoded once."""
    vae = make("faces32-vae", tmp_path / "vae", steps=2, progress=False)
    info = json.loads((vae / "recipe.json").read_text())
    assert info["scaling_factor"] > 0 and info["reconstruction_l1"] > 0
    lat = make("faces32-latent", tmp_path / "lat", steps=2, progress=False, autoencoder=str(vae))
    model = load_model(lat)
    assert model.config["autoencoder"] == str(vae) and model.sample_shape == (4, 8, 8) and model.data_range is None
    faces = face_test_set("ood", 3)
    calls = []
    real = Autoencoder.encode
    monkeypatch.setattr(Autoencoder, "encode", lambda self, x: calls.append(len(x)) or real(self, x))
    naive = infer_faces(faces.x, "naive", model, n_samples=4)
    cached = infer_faces(faces.x, "cached", model, n_samples=4)
    assert calls == [3, 3]  # one encoder call per batch of faces, whatever the engine, configurations and samples
    assert torch.equal(naive.attrs, cached.attrs) and float(naive.network_evals[0]) == 4 * float(cached.network_evals[0])
    assert attribute_votes(faces.x, faces.meta["attrs"], model, n_samples=4).vote.shape == (3, 4, 3)
    assert torch.equal(encode(load_model("faces32-mean"), faces.x), faces.x)  # a pixel model takes the images themselves
    from igm_lite.data.attributes import attribute_pool
    from igm_lite.infer.discrete import DiscreteEngine
    from igm_lite.schedule import make_scheduler

    with pytest.raises(ValueError, match="denoises latents of the autoencoder"):  # an image given where a latent belongs
        DiscreteEngine(model, make_scheduler(), n_samples=2).infer(faces.x[0], attribute_pool())


def test_gpu_latent_recipe_trains_on_a_stable_diffusion_vae_from_a_folder(tmp_path):
    """The paper-scale latent recipe on the CelebA fixture through a (tiny, random) Stable Diffusion pipeline folder
    named on the command line, 2 steps at 32 px: its latents are 4 x 4, and the bench reads faces through it."""
    from igm_lite.bench import celeba

    write_celeba(tmp_path / "celeba")
    sd = build_tiny_sd(tmp_path)
    out = tmp_path / "latent"
    cmd = [sys.executable, "-m", "igm_lite.pretrained", "make", "celeba128-latent", "--out", str(out), "--steps", "2",
           "--data", f"root={tmp_path / 'celeba'}", "--data", "size=32", "--autoencoder", str(sd)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["autoencoder"] == str(sd) and cfg["backbone"]["sample_size"] == 4
    assert json.loads((out / "recipe.json").read_text())["command"].endswith(f"--autoencoder {sd}")
    row = next(celeba("ood", n=5, methods=["cached"], root=tmp_path / "celeba", size=32, model=str(out), n_samples=2))
    assert row["n"] == 2 and row["network_evals_per_image"] == 12
    with pytest.raises(ValueError, match="not a latent model"):
        make("faces32-mean", tmp_path / "x", steps=1, autoencoder=str(sd))


def test_an_autoencoder_reference_must_be_a_name():
    with pytest.raises(TypeError, match="autoencoder must name one"):
        load_model("faces32-mean").__class__(backbone={"kind": "mlp", "data_dim": 2}, concept_dim=2, autoencoder=3)
    with pytest.raises(TypeError, match="named by a str"):
        latent.load_autoencoder("")


def test_errors_by_noise_level_are_each_configurations_error_at_each_level_alone():
    """Row t of errors_by_noise_level is the composed model's own (naive) denoising error of every configuration at
    that level, the mean over its draws; levels outside the schedule are refused."""
    from igm_lite.data.attributes import attribute_concepts, attrs_from_slots
    from igm_lite.infer.base import denoising_error
    from igm_lite.infer.discrete import product_sets
    from igm_lite.schedule import NoiseSamples, make_scheduler

    model, x = load_model("faces32-mean"), face_test_set("ood", 1).x[0]
    levels = torch.tensor([30, 700])
    got = errors_by_noise_level(x, model, levels, draws=2, seed=3)
    assert got.shape == (2, 8)
    gen = torch.Generator().manual_seed(3)
    noise = torch.randn((4, *x.shape), generator=gen)
    configs = attribute_concepts(attrs_from_slots(product_sets([2, 2, 2])))
    for i in range(2):
        want = denoising_error(model, x, configs, None, NoiseSamples(levels[i].repeat(2), noise[2 * i: 2 * i + 2]), make_scheduler())
        assert torch.allclose(got[i], want.float().cpu(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="timesteps in"):
        errors_by_noise_level(x, model, [1000])
