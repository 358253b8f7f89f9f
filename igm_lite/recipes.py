"""The recorded recipes of the shipped checkpoints (and of the GPU profiles' models): one ``Recipe`` each, by name.

A recipe is data: the model's keyword arguments, the world and data it trains on, the training run, and the
inference settings validated for it. ``igm_lite.maker.make`` runs one; ``igm_lite.pretrained`` loads what it made.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .baselines import AttributeClassifier, ClassifierLoss, SetLoss, SetPredictor
from .compose import ComposedDenoiser
from .data.faces import FACE_WORLDS
from .latent import Autoencoder, AutoencoderLoss, small_vae
from .sd import DEFAULT_MODEL_ID


@dataclass
class Recipe:
    """How one shipped model is made: the model, the data, the training run."""

    model: dict  # the model class's keyword arguments
    world: str  # the data world (a key of igm_lite.maker.WORLDS)
    data: dict  # keyword arguments of the world's ``batch``
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    about: str = ""  # one line for the book
    kind: str = "composed"  # a key of MODELS: what is trained, and on which loss
    shipped: bool = True  # a checkpoint ships with the package (False: GPU-scale recipes, run by users)
    world_args: dict = field(default_factory=dict)  # keyword arguments of the world's class (e.g. a face world's switches)
    # the inference settings chosen for the model on validation data, written beside it as inference.json:
    # {"settings": {engine kind: {config fields}}, "chosen_on": "what data, how", "command": "the validation command"}
    inference: dict | None = None


def discrete_settings(n_samples: int, t_range: list, schedule: list | None = None, spacing: str = "random") -> dict:
    """The recorded settings of the discrete engines (``inference.json``'s ``"discrete"`` block): the shared noise and,
    where one was chosen, the elimination schedule with the number of samples it was chosen on (they travel together)."""
    block = dict(n_samples=n_samples, t_range=t_range, spacing=spacing)
    return {"discrete": {**block, **({"eliminate": dict(n_samples=n_samples, schedule=schedule)} if schedule else {})}}


MODELS = {"composed": (ComposedDenoiser, None), "classifier": (AttributeClassifier, ClassifierLoss), "set": (SetPredictor, SetLoss),
          "autoencoder": (Autoencoder, AutoencoderLoss)}  # kind -> (class, loss)
_TOY_BACKBONE = {"kind": "mlp", "data_dim": 2, "hidden": 128, "depth": 3, "embed_dim": 64}
_TOY_TRAIN = dict(steps=4000, batch_size=256, lr=2e-3, warmup=100, p_uncond=0.1, seed=0)

RECIPES = {
    f"toy2d-{how}-{mode}": Recipe(
        model=dict(backbone=_TOY_BACKBONE, concept_dim=6, mode=mode),
        world="stripes",
        data=dict(ks=ks),
        train=dict(_TOY_TRAIN, p_uncond=0.1 if mode == "weighted" else 0.0),
        about=f"2-D stripe experts, '{mode}' composition, trained {'on single concepts (independent experts)' if ks == (1,) else 'on the composition of 1 and 2 concepts (joint)'}",
    )
    for how, ks in (("independent", (1,)), ("joint", (1, 2)))
    for mode in ("sum", "weighted")
}

# Chapter 3: attribute denoisers composed by the mean (the paper's CelebA form), trained jointly on
# group-A faces only, and the ResNet baseline on the same faces, steps and batch size.
_FACE_TRAIN = dict(steps=5000, batch_size=16, lr=2e-3, warmup=200, seed=0)
RECIPES["faces32-mean"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [16, 32, 32],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8},
               concept_dim=6, mode="mean"),
    world="faces", data=dict(group="A"), train=_FACE_TRAIN,
    about="32 px faces: 3 attribute denoisers (6 one-hot slots), mean composition, trained jointly on group A",
    inference=dict(
        settings=discrete_settings(16, [0, 1000], schedule=[[4, 2], [7, 1]]),
        chosen_on="200 validation faces per split (seed 1; the test faces are seed 0): t over the whole schedule (the paper's); "
                  "the elimination schedule the cheapest of five of 36-40 rows that came within 1 point of cached on both splits "
                  "(igm_lite/results/celeba-settings.jsonl)",
        command="python -m igm_lite.bench results celeba-settings"),
)
RECIPES["faces32-resnet"] = Recipe(
    model=dict(num_attributes=3, embedding_size=32, hidden_sizes=[32, 64, 128], depths=[1, 1, 1], size=32),
    world="faces", data=dict(group="A"), train=_FACE_TRAIN, kind="classifier",
    about="32 px faces: the ResNet attribute classifier, same group-A faces, steps and batch size",
)
# Chapter 3 in latent space (the paper's models denoise Stable Diffusion VAE latents): a small AutoencoderKL (32 px ->
# 8 x 8 x 4) trained without labels on faces of both groups, as the SD VAE saw faces of every kind; the control, one
# trained on group A only; and on each, the same composed attribute denoisers (6 one-hot slots, mean composition)
# trained jointly on the latents of group-A faces. A latent model's folder names its autoencoder.
_VAE_TRAIN = dict(steps=1500, batch_size=32, lr=1e-3, warmup=100, seed=0)
_LATENT_TRAIN = dict(steps=3000, batch_size=32, lr=2e-3, warmup=200, seed=0)
_LATENT_INFERENCE = dict(
    settings=discrete_settings(32, [0, 1000], schedule=[[4, 2], [10, 1]]),
    chosen_on="200 group-A validation faces (seed 1; the test faces are seed 0), 32 samples, cached: three of four t ranges "
              "read 100% with faces32-latent (t from 500: 92.5%), the tie to the paper's whole schedule; five elimination "
              "schedules all read 100%, of the two cheapest (48 rows) the one that decides on more samples "
              "(igm_lite/results/celeba-settings.jsonl)",
    command="python -m igm_lite.bench results celeba-settings")
for _suffix, _group, _seen in (("", "AB", "faces of both groups"), ("-a", "A", "group-A faces only")):
    RECIPES[f"faces32-vae{_suffix}"] = Recipe(
        model=dict(vae=small_vae(32)), world="faces", data=dict(group=_group), train=_VAE_TRAIN, kind="autoencoder",
        about=f"32 px faces -> 8x8x4 latents: an AutoencoderKL trained without labels on {_seen}",
    )
    RECIPES[f"faces32-latent{_suffix}"] = Recipe(
        model=dict(backbone={"kind": "unet", "sample_size": 8, "in_channels": 4, "block_out_channels": [32, 64],
                             "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2,
                             "layers_per_block": 1, "norm_num_groups": 8},
                   concept_dim=6, mode="mean", data_range="none", autoencoder=f"faces32-vae{_suffix}"),
        world="faces", data=dict(group="A"), train=_LATENT_TRAIN,
        about=f"8x8x4 latents of faces32-vae{_suffix}: 3 attribute denoisers, mean composition, trained jointly on group A",
        inference=_LATENT_INFERENCE,
    )
# Chapter 3's grid of worlds (``igm_lite.data.faces.FACE_WORLDS``: which kind of shift favours which reader): ONE
# autoencoder trained without labels on faces of every world and both groups (as Stable Diffusion's VAE saw faces of
# every kind); per world, the latent attribute denoisers on it and the ResNet on pixels, both trained on the world's
# group A with the same data, steps and batch size. The grid trains each for several seeds (``make(..., seed=S)``);
# the celeba-like world's seed-0 models ship, so that the chapter's CPU profile shows the grid's main row live.
RECIPES["faces32-vae-worlds"] = Recipe(
    model=dict(vae=small_vae(32)), world="faces-every", data=dict(group="AB"), train=_VAE_TRAIN, kind="autoencoder",
    about="32 px faces -> 8x8x4 latents: an AutoencoderKL trained without labels on faces of every world and both groups",
)
for _world, _args in FACE_WORLDS.items():
    _shipped = _world == "celeba-like"
    RECIPES[f"faces32-latent-{_world}"] = dataclasses.replace(
        RECIPES["faces32-latent"], model={**RECIPES["faces32-latent"].model, "autoencoder": "faces32-vae-worlds"},
        world_args=dict(_args), shipped=_shipped,
        about=f"8x8x4 latents of faces32-vae-worlds: 3 attribute denoisers, mean composition, trained jointly on group A of the {_world} world")
    RECIPES[f"faces32-resnet-{_world}"] = Recipe(
        model=RECIPES["faces32-resnet"].model, world="faces", data=dict(group="A"), train=_LATENT_TRAIN, kind="classifier",
        world_args=dict(_args), shipped=_shipped,
        about=f"32 px faces: the ResNet attribute classifier on group A of the {_world} world, the latent model's data, steps and batch size")
# the pixel model of the celeba-like world (the grid's reference row beside faces32-mean, which is the disjoint world's)
RECIPES["faces32-mean-celeba-like"] = dataclasses.replace(
    RECIPES["faces32-mean"], world_args=dict(FACE_WORLDS["celeba-like"]), shipped=False,
    about="32 px faces: 3 attribute denoisers, mean composition, trained jointly on group A of the celeba-like world")

# The GPU profile of chapter 3: the paper's scale on the real CelebA (train split, female faces), 128 px.
# Not shipped: run with --data root=CELEBA_DIR on a GPU.
# Mixed precision follows the GPU: bf16 where supported, fp16 with loss scaling on older GPUs (a T4), fp32 on a CPU.
_CELEBA_TRAIN = dict(steps=50000, batch_size=64, lr=1e-4, warmup=1000, seed=0, mixed_precision="auto", checkpoint_every=5000)
RECIPES["celeba128-mean"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 128, "in_channels": 3, "block_out_channels": [64, 128, 256, 256],
                         "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"], "layers_per_block": 2},
               concept_dim=6, mode="mean"),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, shipped=False,
    about="GPU: 128 px CelebA, 3 attribute denoisers, mean composition, trained jointly on female faces",
)
# ... and the paper's own space: the same denoisers on 16 x 16 x 4 latents of Stable Diffusion's VAE (any AutoencoderKL:
# --autoencoder names a hub id or a folder), images encoded once per batch on the GPU.
RECIPES["celeba128-latent"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 16, "in_channels": 4, "block_out_channels": [128, 256, 256],
                         "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 2},
               concept_dim=6, mode="mean", data_range="none", autoencoder=DEFAULT_MODEL_ID),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, shipped=False,
    about="GPU: 128 px CelebA through Stable Diffusion's VAE (16x16x4 latents), 3 attribute denoisers, mean composition",
)
RECIPES["celeba128-resnet"] = Recipe(
    model=dict(num_attributes=3, embedding_size=64, hidden_sizes=[256, 512, 1024, 2048], depths=[3, 4, 6, 3], layer_type="bottleneck",
               size=128),
    world="celeba", data=dict(root=None, split="train", size=128), train=_CELEBA_TRAIN, kind="classifier", shipped=False,
    about="GPU: ResNet-50 attribute classifier on the same 128 px female faces, steps and batch size",
)

# Chapter 4 (CPU profile): a caption-conditioned digit model, "pretrained" on canvases of 1-3 digits
# whose captions name only some of them (web-style), then used zero-shot on compositions.
RECIPES["digits32"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 1, "block_out_channels": [32, 64, 64],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8},
               concept_dim=10, mode="mean", encoder="linear"),
    world="digits", data=dict(split="train", counts=(1, 2, 3), p_two=0.25),
    train=dict(steps=3000, batch_size=32, lr=1e-3, warmup=200, p_uncond=0.1, seed=0),
    about="32 px canvases of 1-3 real digits (train scans), captions naming one or two of them; 1.06M-param UNet",
    inference=dict(
        settings=discrete_settings(32, [100, 700]),
        chosen_on="set by hand to the middle of the schedule, where digits differ most; not selected on validation canvases "
                  "(the validation canvases, seed 1, chose the composition form)",
        command="python -m igm_lite.bench zeroshot --k 2 --n 200 --seed 1 --method cached"),
)

# Chapter 2 (CPU profile): per-object position denoisers on 32 px CLEVR-like scenes of 3-5 objects,
# composed as eps_u + sum_k (eps_k - eps_u) (weighted, w = 1) with a learned null concept, trained jointly.
RECIPES["clevr32"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 32, "in_channels": 3, "block_out_channels": [16, 32, 32],
                         "down_block_types": ["DownBlock2D"] * 3, "up_block_types": ["UpBlock2D"] * 3,
                         "layers_per_block": 1, "norm_num_groups": 8, "position_maps": 0.05},
               concept_dim=3, mode="weighted", weight=1.0, learned_null=True),
    world="clevr", data=dict(split="id"),
    train=dict(steps=3000, batch_size=16, lr=2e-3, warmup=200, p_uncond=0.1, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: position denoisers (bump + coordinate channels), weighted composition",
    inference=dict(
        settings={"positions": dict(grid=12, n_samples=3, t_range=[50, 450], refine_steps=10)},
        chosen_on="32 validation scenes per split (seed 1; the test scenes are seed 0), each setting changed alone "
                  "(igm_lite/results/clevr-validation.jsonl): 3 noise samples and a 12 x 12 grid within 1.3 points of "
                  "perception of 4 samples or a 14 x 14 grid, for about 150 fewer rows a scene; 10 refinement steps and "
                  "t in [50, 450) far ahead of none and of the whole schedule",
        command="python -m igm_lite.bench results clevr-validation"),
)
# The two discriminative baselines of chapter 2: same scenes, steps and batch size, Hungarian set loss.
RECIPES["clevr32-resnet"] = Recipe(
    model=dict(arch="resnet", slots=10, width=64), world="clevr", data=dict(split="id"), kind="set",
    train=dict(steps=3000, batch_size=16, lr=1e-3, warmup=200, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: ResNet regressing 10 slots (x, y, presence), Hungarian loss",
)
# The GPU profile of chapter 2: the real CLEVR (train split, 3-5 objects) at the paper's 64 px, a larger
# pixel-space UNet, and both baselines on the same scenes and budget. Not shipped: --data root=CLEVR_DIR.
_CLEVR64_TRAIN = dict(steps=100000, batch_size=64, lr=1e-4, warmup=1000, seed=0, mixed_precision="auto", checkpoint_every=5000)
RECIPES["clevr64"] = Recipe(
    model=dict(backbone={"kind": "unet", "sample_size": 64, "in_channels": 3, "block_out_channels": [64, 128, 256, 256],
                         "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
                         "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"], "layers_per_block": 2,
                         "position_maps": 0.03},
               concept_dim=3, mode="weighted", weight=1.0, learned_null=True),
    world="clevr", data=dict(root=None, split="id", size=64), train=dict(_CLEVR64_TRAIN, p_uncond=0.1), shipped=False,
    about="GPU: real CLEVR 64 px, 3-5 objects, position denoisers, weighted composition (pixel space)",
)
for _arch, _width in (("resnet", 128), ("slot", 64)):
    RECIPES[f"clevr64-{_arch}"] = Recipe(
        model=dict(arch=_arch, slots=10, width=_width, size=64), world="clevr", data=dict(root=None, split="id", size=64), kind="set",
        train=dict(_CLEVR64_TRAIN, lr=4e-4), shipped=False,
        about=f"GPU: the {'ResNet' if _arch == 'resnet' else 'Slot Attention'} set predictor on the same real CLEVR scenes and budget",
    )
RECIPES["clevr32-slot"] = Recipe(
    model=dict(arch="slot", slots=10, width=32), world="clevr", data=dict(split="id"), kind="set",
    train=dict(steps=3000, batch_size=16, lr=4e-4, warmup=200, seed=0),
    about="32 px CLEVR-like scenes of 3-5 objects: Slot Attention (10 slots) with a position head, Hungarian loss",
)


def shipped() -> list[str]:
    """The names of the shipped checkpoints."""
    return sorted(n for n, r in RECIPES.items() if r.shipped)
